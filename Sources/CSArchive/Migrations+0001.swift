extension Migration {
    /// Version 1: conversations, their entries, handlers, rating, and the customers (contacts).
    /// Times are `timestamptz` (converted from the milliseconds Redis holds); ids are the
    /// system's own (`[A-Za-z0-9._-]`). Entry rows keep the frame exactly as it was delivered
    /// (`frame`), plus the columns a search or a transcript needs.
    static let initialSchema = Migration(version: 1, name: "initial schema", statements: [
        """
        CREATE TABLE cs_conversations (
            id                text PRIMARY KEY,
            customer_id       text NOT NULL,
            customer_name     text NOT NULL,
            agent_id          text,
            agent_name        text,
            skill             text NOT NULL,
            status            text NOT NULL,
            last_seq          bigint NOT NULL,
            created_at        timestamptz,
            closed_at         timestamptz,
            rate_until        timestamptz,
            first_assigned_at timestamptz,
            first_response_at timestamptz,
            archived_at       timestamptz NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX cs_conversations_customer ON cs_conversations (customer_id, closed_at DESC)",
        "CREATE INDEX cs_conversations_agent ON cs_conversations (agent_id, closed_at DESC)",
        "CREATE INDEX cs_conversations_closed ON cs_conversations (closed_at DESC)",
        """
        CREATE TABLE cs_entries (
            conversation_id text NOT NULL REFERENCES cs_conversations (id) ON DELETE CASCADE,
            seq             bigint NOT NULL,
            type            text NOT NULL,
            sender_id       text,
            sender_role     text,
            body            text,
            at              timestamptz,
            frame           jsonb NOT NULL,
            PRIMARY KEY (conversation_id, seq)
        )
        """,
        """
        CREATE TABLE cs_handlers (
            conversation_id text NOT NULL REFERENCES cs_conversations (id) ON DELETE CASCADE,
            position        integer NOT NULL,
            agent_id        text NOT NULL,
            PRIMARY KEY (conversation_id, agent_id)
        )
        """,
        "CREATE INDEX cs_handlers_agent ON cs_handlers (agent_id)",
        """
        CREATE TABLE cs_ratings (
            conversation_id text PRIMARY KEY REFERENCES cs_conversations (id) ON DELETE CASCADE,
            score           smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
            comment         text NOT NULL DEFAULT '',
            rated_at        timestamptz NOT NULL,
            updated_at      timestamptz NOT NULL,
            agent_id        text,
            team            text NOT NULL
        )
        """,
        """
        CREATE TABLE cs_contacts (
            customer_id text PRIMARY KEY,
            name        text NOT NULL,
            email       text,
            first_seen  timestamptz NOT NULL,
            last_seen   timestamptz NOT NULL
        )
        """,
    ])
}
