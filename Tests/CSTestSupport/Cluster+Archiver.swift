import Foundation

/// Archiver processes (`cs-archiver`) against a test ``PostgresServer``.
extension Cluster {
    /// Starts `cs-archiver` with id `id` against `databaseURL`. A restarted archiver with the same
    /// id appends to the same log (`archiver-<id>.log`).
    @discardableResult
    public func startArchiver(id: String, databaseURL: String, extraArguments: [String] = []) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-archiver",
            name: "archiver-\(id)",
            arguments: ["--redis-url", redisURL, "--archiver-id", id, "--database-url", databaseURL, "--log-level", configuration.logLevel]
                + extraArguments
        )
        lock.withLock { _archivers.append(process) }
        return process
    }

    public var archivers: [ManagedProcess] { lock.withLock { _archivers } }

    /// Log lines of every archiver run that contain `text`.
    public func archiverLogLines(containing text: String) -> [String] {
        var seen = Set<String>()
        var lines: [String] = []
        for process in archivers where seen.insert(process.logFile.path).inserted {
            lines += process.log().split(separator: "\n").map(String.init).filter { $0.contains(text) }
        }
        return lines
    }

    /// Runs `cs-admin <arguments>` with `CS_DATABASE_URL` set (the `db` subcommands).
    @discardableResult
    public func adminDatabase(_ arguments: [String], databaseURL: String, timeout: Duration = .seconds(60)) async throws -> String {
        let n = lock.withLock { commandCounter += 1; return commandCounter }
        return try await launcher.run(
            BuildProducts.executable("cs-admin"), name: "admin-\(n)-\(arguments.prefix(2).joined(separator: "-"))", arguments: arguments,
            environment: ["CS_REDIS_URL": redisURL, "CS_DATABASE_URL": databaseURL], timeout: timeout)
    }
}
