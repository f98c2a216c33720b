import CSCore
import Logging
import PostgresNIO

/// Writes a snapshot to PostgreSQL in ONE transaction, idempotently: a conversation, its
/// entries and handlers are inserted `ON CONFLICT DO NOTHING` (keyed by conversation id, and
/// seq or agent), so archiving the same conversation again changes nothing; the contact and the
/// rating are upserts that only ever move forward (the newer rating, the earlier first-seen,
/// the later last-seen), so a replay leaves them as they are too.
struct ArchiveWriter: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Entries per INSERT (each an `unnest` of arrays: one round trip per chunk).
    static let chunkSize = 500

    /// Whether the conversation row exists (it was archived before).
    func isArchived(_ id: String) async throws -> Bool {
        try await client.query("SELECT 1 FROM cs_conversations WHERE id = \(id)", logger: logger).collect().isEmpty == false
    }

    /// Writes everything in one transaction; returns how many entry rows were new.
    @discardableResult
    func write(_ snapshot: ConversationSnapshot) async throws -> Int {
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection -> Int in
            var inserted = 0
            if let state = snapshot.state {
                try await Self.insertConversation(state, lastSeq: snapshot.lastSeq, on: connection, logger: logger)
                for (position, agent) in state.handlers.enumerated() {
                    try await connection.query(
                        """
                        INSERT INTO cs_handlers (conversation_id, position, agent_id) VALUES (\(state.id), \(position + 1), \(agent))
                        ON CONFLICT DO NOTHING
                        """, logger: logger)
                }
                var start = 0
                while start < snapshot.entries.count {
                    let chunk = Array(snapshot.entries[start..<min(start + Self.chunkSize, snapshot.entries.count)])
                    inserted += try await Self.insertEntries(chunk, of: state.id, on: connection, logger: logger)
                    start += Self.chunkSize
                }
                let firstSeen = state.createdAt ?? state.closedAt ?? 0
                let lastSeen = state.closedAt ?? firstSeen
                try await connection.query(
                    """
                    INSERT INTO cs_contacts (customer_id, name, email, first_seen, last_seen)
                    VALUES (\(state.customer.id), \(state.customer.name), \(snapshot.contactEmail),
                            to_timestamp(\(firstSeen)::bigint / 1000.0), to_timestamp(\(lastSeen)::bigint / 1000.0))
                    ON CONFLICT (customer_id) DO UPDATE SET
                        name = CASE WHEN excluded.last_seen >= cs_contacts.last_seen THEN excluded.name ELSE cs_contacts.name END,
                        email = COALESCE(CASE WHEN excluded.last_seen >= cs_contacts.last_seen THEN excluded.email END, cs_contacts.email),
                        first_seen = LEAST(cs_contacts.first_seen, excluded.first_seen),
                        last_seen = GREATEST(cs_contacts.last_seen, excluded.last_seen)
                    WHERE (cs_contacts.name, cs_contacts.email, cs_contacts.first_seen, cs_contacts.last_seen)
                        IS DISTINCT FROM (excluded.name, COALESCE(excluded.email, cs_contacts.email),
                                          LEAST(cs_contacts.first_seen, excluded.first_seen), GREATEST(cs_contacts.last_seen, excluded.last_seen))
                    """, logger: logger)
            }
            if let rating = snapshot.rating {
                try await connection.query(
                    """
                    INSERT INTO cs_ratings (conversation_id, score, comment, rated_at, updated_at, agent_id, team)
                    SELECT \(snapshot.id), \(rating.score), \(rating.comment), to_timestamp(\(rating.ratedAt)::bigint / 1000.0),
                           to_timestamp(\(rating.updatedAt)::bigint / 1000.0), \(rating.agent), \(rating.team)
                    WHERE EXISTS (SELECT 1 FROM cs_conversations WHERE id = \(snapshot.id))
                    ON CONFLICT (conversation_id) DO UPDATE SET
                        score = excluded.score, comment = excluded.comment, updated_at = excluded.updated_at
                    WHERE excluded.updated_at > cs_ratings.updated_at
                    """, logger: logger)
            }
            return inserted
        }
    }

    private static func insertConversation(_ state: ConversationState, lastSeq: Int, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO cs_conversations (id, customer_id, customer_name, agent_id, agent_name, skill, status, last_seq,
                                          created_at, closed_at, rate_until, first_assigned_at, first_response_at)
            VALUES (\(state.id), \(state.customer.id), \(state.customer.name), \(state.agent?.id), \(state.agent?.name), \(state.skill),
                    \(state.status.rawValue), \(lastSeq),
                    to_timestamp(\(state.createdAt)::bigint / 1000.0), to_timestamp(\(state.closedAt)::bigint / 1000.0),
                    to_timestamp(\(state.rateUntil)::bigint / 1000.0), to_timestamp(\(state.firstAssignedAt)::bigint / 1000.0),
                    to_timestamp(\(state.firstResponseAt)::bigint / 1000.0))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    /// One INSERT of a chunk of entries (arrays unnested server-side); returns the rows inserted.
    private static func insertEntries(
        _ entries: [ConversationSnapshot.Entry], of id: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        let seqs = entries.map(\.seq)
        let types = entries.map(\.type)
        // Arrays of optionals do not bind: "" and 0 stand for NULL (NULLIF below); no id, role or
        // time is ever empty or 0, and an empty body is stored as NULL, as absent.
        let senders = entries.map { $0.senderID ?? "" }
        let roles = entries.map { $0.senderRole ?? "" }
        let bodies = entries.map { $0.body ?? "" }
        let times = entries.map { $0.at ?? 0 }
        let frames = entries.map(\.frame)
        let rows = try await connection.query(
            """
            INSERT INTO cs_entries (conversation_id, seq, type, sender_id, sender_role, body, at, frame)
            SELECT \(id), e.seq, e.type, NULLIF(e.sender, ''), NULLIF(e.role, ''), NULLIF(e.body, ''),
                   to_timestamp(NULLIF(e.at, 0) / 1000.0), e.frame::jsonb
            FROM unnest(\(seqs)::bigint[], \(types)::text[], \(senders)::text[], \(roles)::text[], \(bodies)::text[],
                        \(times)::bigint[], \(frames)::text[]) AS e(seq, type, sender, role, body, at, frame)
            ON CONFLICT (conversation_id, seq) DO NOTHING
            RETURNING seq
            """, logger: logger).collect()
        return rows.count
    }
}
