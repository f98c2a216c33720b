extension RedisKeys {
    // MARK: Webhooks: tag {webhooks} (every webhook key in one slot, so each webhook function
    // touches one slot; docs/redis-keys.md "Webhooks")

    /// Webhook events (stream, fields `id`, `t`, `c`, `b`): written by partition owners only for
    /// event types some endpoint wants (`webhookWanted`), read by `cs-webhooks`.
    public static let webhookEvents = "cs:{webhooks}:events"

    /// Registered endpoints (hash): endpoint id → its registration as JSON (`WebhookEndpoint`:
    /// URL, event types, secret), written once at registration. Dispatchers read it (`HVALS`)
    /// every few seconds to know which event types anyone wants.
    public static let webhookEndpoints = "cs:{webhooks}:endpoints"

    /// Paused endpoints (hash): endpoint id → JSON (`WebhookEndpointStatus.Pause`: why, since
    /// when). Apart from the registration so that a pause never rewrites (or revives) one.
    public static let webhookPaused = "cs:{webhooks}:paused"

    /// Last delivery error per endpoint (hash): endpoint id → JSON (`WebhookEndpointStatus.Failure`),
    /// written by `cs-webhooks` only (so it never races a supervisor's pause).
    public static let webhookErrors = "cs:{webhooks}:errors"

    /// The endpoint's dead letters (stream): deliveries given up on (retries exhausted, endpoint
    /// paused), with the event's fields plus `endpoint`, `error`, `attempts`, `at`, `entry`.
    /// `endpointID` is `wh_` + 12 characters of `[0-9a-z]` (`WebhookRegistry.isValidID`).
    public static func webhookDeadLetters(_ endpointID: String) -> String { "cs:{webhooks}:dead:" + endpointID }

    /// Approximate number of dead letters kept per endpoint.
    public static let webhookDeadLetterMaxLength = 10_000

    /// The delivering `cs-webhooks` process' lease (string: its id, with `PX`): one process
    /// delivers at a time, the others wait to take over (docs/operations.md "Webhooks").
    public static let webhookLease = "cs:{webhooks}:lease"

    /// Consumer group of `cs-webhooks` on `webhookEvents`.
    public static let webhookGroup = "webhooks"

    /// Approximate number of events the stream keeps (`XADD … MAXLEN ~`): about a day of a busy
    /// site's messages, so a `cs-webhooks` outage of hours loses nothing.
    public static let webhookEventsMaxLength = 1_000_000
}
