import ArgumentParser
import CSServer
import CSArchive
import Logging
import PostgresNIO
import ServiceLifecycle

/// The archive's PostgreSQL schema (docs/operations.md, "The archive"): `cs-admin db migrate`
/// applies the versioned migrations the archivers need, with a role that may create tables.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "The PostgreSQL archive: apply schema migrations, show which ran.",
        subcommands: [Migrate.self, Status.self])

    struct Options: ParsableArguments {
        @Option(name: .customLong("database-url"), help: "PostgreSQL URL of the schema owner (env CS_DATABASE_URL).")
        var databaseURL: String = environment("CS_DATABASE_URL") ?? "postgres://cs@127.0.0.1:5432/cs"

        func validate() throws {
            do { _ = try PostgresURL(databaseURL) } catch { throw ValidationError("--database-url: \(error)") }
        }

        /// Runs `body` with a client whose pool runs meanwhile.
        func withClient<T: Sendable>(_ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws -> T {
            let logger = Logger(label: "cs-admin")
            let client = PostgresClient(configuration: try PostgresURL(databaseURL).configuration(), backgroundLogger: logger)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(client, logger)
            }
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every migration not yet recorded in cs_schema_migrations.")
        @OptionGroup var options: Options

        func run() async throws {
            let applied = try await options.withClient { client, logger in try await Migrator(client: client, logger: logger).migrate() }
            print(applied.isEmpty ? "up to date (version \(Migration.all.last?.version ?? 0))" : "applied \(applied.map(String.init).joined(separator: ", "))")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which migrations ran; exits 1 when one is missing.")
        @OptionGroup var options: Options

        func run() async throws {
            let applied = try await options.withClient { client, logger in try await Migrator(client: client, logger: logger).appliedVersions() }
            var missing = false
            for migration in Migration.all {
                let done = applied.contains(migration.version)
                missing = missing || !done
                print("\(migration.version) \(migration.name): \(done ? "applied" : "MISSING")")
            }
            if missing { throw ExitCode(1) }
        }
    }
}
