import CSRedis
import PostgresNIO

/// Whether a failure to archive one stream entry is about the entry (it goes to the dead
/// letters at once: no retry can fix it) or about the moment (PostgreSQL or Redis down,
/// restarting, a deadlock: the batch is retried, with backoff, for as long as it takes).
enum ArchiveFailure {
    /// SQLSTATE classes that say the data is wrong: 22 data exception (e.g. an invalid JSON
    /// frame, a value out of range), 23 integrity constraint violation. Everything else
    /// (08 connection, 40 serialization/deadlock, 53 resources, 57 shutdown, 42 a missing
    /// privilege or table, which an operator fixes) is retried.
    static let entryClasses: Set<String> = ["22", "23"]

    /// The short reason for the dead letter when `error` is about the entry; nil when it is transient.
    static func entryReason(_ error: any Error) -> String? {
        switch error {
        case let error as MalformedConversation:
            return "malformed_conversation: " + error.description
        case let error as PSQLError:
            guard let state = error.serverInfo?[.sqlState], entryClasses.contains(String(state.prefix(2))) else { return nil }
            return "postgres_rejected: SQLSTATE " + state
        case let error as RedisError where error.redisErrorPrefix == "WRONGTYPE":
            return "redis_wrongtype"
        default:
            return nil
        }
    }

    /// Pure form of the SQLSTATE rule, for tests and docs.
    static func isEntryFailure(sqlState: String) -> Bool { entryClasses.contains(String(sqlState.prefix(2))) }
}
