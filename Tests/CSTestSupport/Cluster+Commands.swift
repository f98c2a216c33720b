import Foundation

extension Cluster {
    /// Runs `cs-admin <arguments>` against the cluster's Redis and returns its stdout.
    ///
    /// The Redis URL goes in `CS_REDIS_URL`, which works wherever the subcommands declare
    /// `--redis-url` (docs/operations.md shows it before the subcommand; cs-admin currently
    /// accepts it only after).
    @discardableResult
    public func admin(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
        let n = lock.withLock { commandCounter += 1; return commandCounter }
        return try await launcher.run(
            BuildProducts.executable("cs-admin"),
            name: "admin-\(n)-\(arguments.prefix(2).joined(separator: "-"))",
            arguments: arguments,
            environment: ["CS_REDIS_URL": redisURL],
            timeout: timeout
        )
    }

    /// `cs-admin agent add` (`role` is `agent` or `supervisor`).
    public func addAgent(id: String, name: String, password: String, skills: [String] = ["default"], max: Int, role: String = "agent") async throws {
        try await admin([
            "agent", "add", "--id", id, "--name", name, "--password", password,
            "--skills", skills.joined(separator: ","), "--max", String(max), "--role", role,
        ])
    }

    /// Runs `redis-cli --raw` against the cluster's Redis and returns the output lines (for
    /// checks on Redis state; the keys are in `CSCore.RedisKeys`).
    public func redisCommand(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> [String] {
        let n = lock.withLock { commandCounter += 1; return commandCounter }
        let cli = try Cluster.findProgram("redis-cli")
        let output = try await launcher.run(cli, name: "redis-cli-\(n)", arguments: ["-u", redisURL, "--raw"] + arguments, timeout: timeout)
        return output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).dropLastEmpty()
    }

    static func findProgram(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"] {
            let candidate = URL(fileURLWithPath: dir).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw LaunchError.executableNotFound(name: name, directory: path)
    }
}

extension Array where Element == String {
    fileprivate func dropLastEmpty() -> [String] {
        var copy = self
        while copy.last == "" { copy.removeLast() }
        return copy
    }
}
