import Logging
import PostgresNIO

/// Brings the archive's schema up to ``Migration/all``. Used by every archiver at start and by
/// `cs-admin db migrate`.
///
/// When every migration is already recorded it only reads `cs_schema_migrations`, so an archiver
/// whose role may not create tables (docs/operations.md, "The archive's database roles") starts
/// against a migrated database. Otherwise it applies what is missing in ONE transaction holding
/// an advisory lock, so archivers starting together apply each migration once.
public struct Migrator: Sendable {
    /// `pg_advisory_xact_lock` key of migrations ("csmigr" in ASCII).
    static let lockKey = 0x63_73_6d_69_67_72
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The versions recorded as applied (empty when the table does not exist yet).
    public func appliedVersions() async throws -> Set<Int> {
        let exists = try await client.query("SELECT to_regclass('public.cs_schema_migrations') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        var versions = Set<Int>()
        for try await version in try await client.query("SELECT version FROM cs_schema_migrations", logger: logger).decode(Int.self) {
            versions.insert(version)
        }
        return versions
    }

    /// Applies the missing migrations; returns the versions it applied (empty: up to date).
    @discardableResult
    public func migrate(_ migrations: [Migration] = Migration.all) async throws -> [Int] {
        let known = try await appliedVersions()
        guard migrations.contains(where: { !known.contains($0.version) }) else { return [] }
        let logger = self.logger
        return try await client.withTransaction(logger: logger) { connection -> [Int] in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS cs_schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM cs_schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            var done: [Int] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO cs_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                logger.notice("archive schema migrated", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                done.append(migration.version)
            }
            return done
        }
    }
}
