import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real PostgreSQL server for tests: `initdb` into a fresh temporary directory, `postgres` on a
/// free loopback port, trust authentication for the superuser `cs` (database `postgres`).
///
/// ```swift
/// let pg = try await PostgresServer()                  // initialised, started, answering
/// let rows = try await pg.psql("SELECT count(*) FROM cs_entries")
/// try await pg.stop(); try await pg.start()            // same port and data
/// try await pg.remove()
/// ```
/// The binaries come from `CS_PG_BINDIR`, else `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's `postgresql` package). `initdb` and `postgres`
/// refuse to run as root: as root both run as the `postgres` user (Debian's package creates it),
/// else `nobody`, through `setpriv` (util-linux, on every Debian), and the directory is theirs.
/// The server log is `postgres.log` in ``directory``.
public final class PostgresServer: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    public let binDirectory: URL
    /// The superuser tests connect as (trust authentication on 127.0.0.1).
    public let superuser = "cs"
    public let database = "postgres"

    private let lock = NSLock()
    private var process: Process?
    private var removed = false
    private let runAs: (uid: uid_t, gid: gid_t)?

    /// `postgres://cs@127.0.0.1:<port>/postgres`
    public var url: String { "postgres://\(superuser)@127.0.0.1:\(port)/\(database)" }
    /// `postgres://<user>:<password>@127.0.0.1:<port>/postgres`
    public func url(user: String, password: String) -> String { "postgres://\(user):\(password)@127.0.0.1:\(port)/\(database)" }

    public var dataDirectory: URL { directory.appendingPathComponent("data", isDirectory: true) }
    public var logFile: URL { directory.appendingPathComponent("postgres.log") }

    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    public init(startTimeout: Duration = .seconds(60)) async throws {
        binDirectory = try Self.findBinDirectory()
        runAs = getuid() == 0 ? try Self.unprivilegedUser() : nil
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cs-pg-\(UInt64.random(in: 0...UInt64.max))", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let runAs { _ = chown(directory.path, runAs.uid, runAs.gid) }
        let data = directory.appendingPathComponent("data", isDirectory: true)
        do {
            _ = try await Self.run(
                binDirectory.appendingPathComponent("initdb"), ["-D", data.path, "-U", "cs", "--auth=trust", "-E", "UTF8", "--no-sync"],
                environment: ProcessInfo.processInfo.environment, asUser: runAs)
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        var lastError: (any Error)?
        var chosen: (port: Int, process: Process)?
        for _ in 0..<5 where chosen == nil {
            let candidate = try FreePort.next()
            do {
                let process = try await Self.launch(
                    binDirectory: binDirectory, directory: directory, runAs: runAs, port: candidate, timeout: startTimeout)
                chosen = (candidate, process)
            } catch {
                lastError = error  // most likely the port was taken meanwhile: try another one
            }
        }
        guard let chosen else {
            try? FileManager.default.removeItem(at: directory)
            throw lastError ?? PostgresServerError(message: "no free port found")
        }
        port = chosen.port
        process = chosen.process
    }

    deinit {
        if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        if !removed { try? FileManager.default.removeItem(at: directory) }
    }

    /// Starts the server again (same port, same data) after ``stop()`` or ``kill()``.
    public func start(timeout: Duration = .seconds(60)) async throws {
        guard !isRunning else { return }
        let process = try await Self.launch(binDirectory: binDirectory, directory: directory, runAs: runAs, port: port, timeout: timeout)
        lock.withLock { self.process = process }
    }

    /// Fast shutdown (SIGINT: open transactions are rolled back, clients disconnected).
    public func stop() async throws {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return }
        kill(process.processIdentifier, SIGINT)
        if await RedisServer.waitForExit(process, timeout: .seconds(30)) { return }
        kill(process.processIdentifier, SIGKILL)
        _ = await RedisServer.waitForExit(process, timeout: .seconds(10))
        throw PostgresServerError(message: "postgres did not stop within 30 s of SIGINT; killed it")
    }

    /// Stops the server and removes its directory.
    public func remove() async throws {
        defer {
            lock.withLock { removed = true }
            try? FileManager.default.removeItem(at: directory)
        }
        try await stop()
    }

    /// Starts a server, runs `body` with it and removes it afterwards, also when `body` throws.
    public static func with<R>(_ body: (PostgresServer) async throws -> R) async throws -> R {
        let server = try await PostgresServer()
        do {
            let result = try await body(server)
            try await server.remove()
            return result
        } catch {
            try? await server.remove()
            throw error
        }
    }

    /// Runs SQL with `psql` as `user` (default: the superuser) and returns its unaligned,
    /// tuples-only output (`|` between columns), trimmed. Throws on any SQL error.
    @discardableResult
    public func psql(_ sql: String, user: String? = nil, password: String? = nil, variables: [String: String] = [:], file: URL? = nil) async throws -> String {
        var arguments = ["-h", "127.0.0.1", "-p", String(port), "-U", user ?? superuser, "-d", database, "-X", "-q", "-A", "-t",
                         "-v", "ON_ERROR_STOP=1"]
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["-v", "\(name)=\(value)"] }
        if let file { arguments += ["-f", file.path] } else { arguments += ["-c", sql] }
        let psql = URL(fileURLWithPath: "/usr/bin/psql")
        let executable = FileManager.default.isExecutableFile(atPath: psql.path) ? psql : binDirectory.appendingPathComponent("psql")
        var environment = ProcessInfo.processInfo.environment
        if let password { environment["PGPASSWORD"] = password }
        return try await Self.run(executable, arguments, environment: environment, asUser: nil)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One integer from `sql` (e.g. a `count(*)`).
    public func int(_ sql: String) async throws -> Int {
        let text = try await psql(sql)
        guard let value = Int(text) else { throw PostgresServerError(message: "not an integer from \(sql): \(text)") }
        return value
    }

    // MARK: - Processes

    private static func launch(
        binDirectory: URL, directory: URL, runAs: (uid: uid_t, gid: gid_t)?, port: Int, timeout: Duration
    ) async throws -> Process {
        let dataDirectory = directory.appendingPathComponent("data", isDirectory: true)
        let logFile = directory.appendingPathComponent("postgres.log")
        let process = Process()
        let arguments = [
            "-D", dataDirectory.path, "-p", String(port), "-k", directory.path, "-c", "listen_addresses=127.0.0.1",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=50", "-c", "shared_buffers=32MB",
        ]
        let postgres = binDirectory.appendingPathComponent("postgres")
        if let runAs {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(runAs.uid)", "--regid=\(runAs.gid)", "--clear-groups", "--", postgres.path] + arguments
        } else {
            process.executableURL = postgres
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        if !FileManager.default.fileExists(atPath: logFile.path) { _ = FileManager.default.createFile(atPath: logFile.path, contents: nil) }
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }
        _ = try? log.seekToEnd()
        let offset = RedisServer.size(of: logFile)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try await RedisServer.spawnWithEmptySignalMask(process)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw PostgresServerError(message: "postgres on port \(port) exited (\(process.terminationStatus)):\n\(RedisServer.tail(of: logFile))")
            }
            if RedisServer.logContains("ready to accept connections", logFile, from: offset) { return process }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        _ = await RedisServer.waitForExit(process, timeout: .seconds(10))
        throw PostgresServerError(message: "postgres on port \(port) not ready within \(timeout):\n\(RedisServer.tail(of: logFile))")
    }

    /// Runs a program to completion (as `asUser` through `setpriv` when given); its output, or an
    /// error with the output when it exits non-zero.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String], asUser: (uid: uid_t, gid: gid_t)?) async throws -> String {
        let process = Process()
        if let asUser {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=\(asUser.uid)", "--regid=\(asUser.gid)", "--clear-groups", "--", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("cs-pg-out-\(UInt64.random(in: 0...UInt64.max))")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        // The child's working directory must be readable by the unprivileged user.
        process.currentDirectoryURL = URL(fileURLWithPath: "/tmp")
        try await RedisServer.spawnWithEmptySignalMask(process)
        _ = await RedisServer.waitForExit(process, timeout: .seconds(120))
        try? handle.close()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard !process.isRunning else {
            process.terminate()
            throw PostgresServerError(message: "\(executable.lastPathComponent) did not finish within 120 s")
        }
        guard process.terminationStatus == 0 else {
            throw PostgresServerError(message: "\(executable.lastPathComponent) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(text)")
        }
        return text
    }

    static func findBinDirectory() throws -> URL {
        let manager = FileManager.default
        func has(_ directory: String) -> Bool { manager.isExecutableFile(atPath: directory + "/initdb") && manager.isExecutableFile(atPath: directory + "/postgres") }
        if let given = ProcessInfo.processInfo.environment["CS_PG_BINDIR"], has(given) { return URL(fileURLWithPath: given) }
        for candidate in ["/usr/bin/pg_config", "/usr/local/bin/pg_config"] where manager.isExecutableFile(atPath: candidate) {
            if let text = try? runSync(candidate, ["--bindir"]), has(text) { return URL(fileURLWithPath: text) }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? manager.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions where has("\(root)/\(version)/bin") { return URL(fileURLWithPath: "\(root)/\(version)/bin") }
        throw PostgresServerError(message: "PostgreSQL not found (CS_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin): apt-get install postgresql")
    }

    private static func runSync(_ path: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `postgres` (Debian's package creates it), else `nobody`.
    static func unprivilegedUser() throws -> (uid: uid_t, gid: gid_t) {
        for name in ["postgres", "nobody"] {
            if let entry = getpwnam(name) { return (entry.pointee.pw_uid, entry.pointee.pw_gid) }
        }
        throw PostgresServerError(message: "running as root and neither user postgres nor nobody exists")
    }
}

/// Starting or using a ``PostgresServer`` failed.
public struct PostgresServerError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { "PostgresServerError: \(message)" }
}
