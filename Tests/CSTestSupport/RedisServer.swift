import CSRedis
import Foundation
import NIOCore
import NIOPosix

/// A real `redis-server` for tests: its own process on a free loopback port (never 6379), in a
/// fresh temporary directory, with RDB snapshots disabled.
///
/// ```swift
/// let redis = try await RedisServer()                  // started and answering PING
/// let client = RedisClient(configuration: redis.configuration, logger: logger)
/// try await redis.restart()                            // same port and directory
/// try await redis.stop()
/// ```
/// The log is `redis.log` in ``directory`` (startup errors: `redis.console.log`). The directory is removed by ``stop()`` and on deinit
/// (which also kills a still-running server).
public final class RedisServer: @unchecked Sendable {
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The server's working directory (`--dir`): AOF files and `redis.log`.
    public let directory: URL
    /// Whether the server runs with `--appendonly yes` (data then survives ``restart()``, even after ``kill()``).
    public let appendOnly: Bool
    /// Extra command-line arguments passed after the defaults, e.g. `["--user", "alice", "on", ">pw", "~*", "&*", "+@all"]`.
    public let extraArguments: [String]

    private let executable: URL
    private let lock = NSLock()
    private var process: Process?
    private var removed = false

    /// `redis://127.0.0.1:<port>`
    public var url: String { "redis://127.0.0.1:\(self.port)" }

    /// A client configuration for this server (defaults otherwise).
    public var configuration: RedisConfiguration { RedisConfiguration(host: "127.0.0.1", port: self.port) }

    /// The log file written by the server.
    public var logFile: URL { self.directory.appendingPathComponent("redis.log") }

    /// The process id while running.
    public var processIdentifier: Int32? {
        self.lock.withLock { self.process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    /// Starts `redis-server` (from `PATH`, else `/usr/bin/redis-server`) and waits until it answers `PING`.
    /// - Parameters:
    ///   - appendOnly: `--appendonly yes|no`.
    ///   - extraArguments: appended to the command line (later options override earlier ones).
    ///   - startTimeout: how long to wait for `PING` to succeed.
    public init(appendOnly: Bool = false, extraArguments: [String] = [], startTimeout: Duration = .seconds(30)) async throws {
        self.executable = try Self.findExecutable()
        self.appendOnly = appendOnly
        self.extraArguments = extraArguments
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cs-redis-\(UInt64.random(in: 0...UInt64.max))", isDirectory: true)
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)

        // The port is only reserved once Redis binds it: retry with another one if it was taken.
        var lastError: (any Error)?
        var started: (port: Int, process: Process)?
        for _ in 0..<5 where started == nil {
            do {
                let candidate = try FreePort.next()
                guard candidate != 6379 else { continue }
                let process = try await Self.launchAndWait(
                    self.executable, port: candidate, directory: self.directory, appendOnly: appendOnly,
                    extraArguments: extraArguments, timeout: startTimeout
                )
                started = (candidate, process)
            } catch let error as RedisServerError where error.processExited {
                lastError = error  // most likely the port was taken meanwhile: try another one
            } catch {
                lastError = error
                break
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(at: self.directory)
            throw lastError ?? RedisServerError(message: "no free port found")
        }
        self.port = started.port
        self.process = started.process
    }

    deinit {
        if let process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
        }
        self.removeDirectory()
    }

    /// Stops the server with SIGTERM (an AOF is flushed), waits for it to exit and removes ``directory``.
    /// - Throws: if it did not exit within 10 s (it is then killed).
    public func stop() async throws {
        defer { self.removeDirectory() }
        try await self.shutDown()
    }

    /// Starts a server, runs `body` with it and stops it afterwards, also when `body` throws.
    public static func with<R>(
        appendOnly: Bool = false, extraArguments: [String] = [],
        _ body: (RedisServer) async throws -> R
    ) async throws -> R {
        let server = try await RedisServer(appendOnly: appendOnly, extraArguments: extraArguments)
        let result: R
        do {
            result = try await body(server)
        } catch {
            try? await server.stop()
            throw error
        }
        try await server.stop()
        return result
    }

    /// Kills the server with SIGKILL and waits for it to exit (``directory`` is kept, so ``restart()`` works).
    public func kill() async {
        await self.terminateCurrent(signal: SIGKILL)
    }

    /// Stops the server if it runs (SIGTERM) and starts it again on the same port and directory,
    /// so appendonly data persists. Returns once it answers `PING`.
    public func restart(startTimeout: Duration = .seconds(30)) async throws {
        try await self.shutDown()
        try await self.start(startTimeout: startTimeout)
    }

    /// Starts a stopped or killed server again on the same port and directory.
    public func start(startTimeout: Duration = .seconds(30)) async throws {
        guard self.processIdentifier == nil else { return }
        let removed = self.lock.withLock { self.removed }
        guard !removed else { throw RedisServerError(message: "the server was stopped and its directory removed") }
        let process = try await Self.launchAndWait(
            self.executable, port: self.port, directory: self.directory, appendOnly: self.appendOnly,
            extraArguments: self.extraArguments, timeout: startTimeout
        )
        self.lock.withLock { self.process = process }
    }

    /// Stops with SIGTERM, escalating to SIGKILL after 10 s.
    private func shutDown() async throws {
        guard let process = self.lock.withLock({ self.process }), process.isRunning else { return }
        process.terminate()
        if await Self.waitForExit(process, timeout: .seconds(10)) { return }
        await self.terminateCurrent(signal: SIGKILL)
        throw RedisServerError(message: "redis-server on port \(self.port) did not exit within 10 s of SIGTERM; killed it")
    }

    private func terminateCurrent(signal: Int32) async {
        guard let process = self.lock.withLock({ self.process }), process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
        _ = await Self.waitForExit(process, timeout: .seconds(30))
    }

    private func removeDirectory() {
        let alreadyRemoved = self.lock.withLock { () -> Bool in
            defer { self.removed = true }
            return self.removed
        }
        if !alreadyRemoved { try? FileManager.default.removeItem(at: self.directory) }
    }
}

/// Starting or stopping a ``RedisServer`` failed.
public struct RedisServerError: Error, CustomStringConvertible {
    /// What happened, with the tail of the server's logs where useful.
    public var message: String
    /// `true` if `redis-server` exited by itself while starting (e.g. its port was taken).
    public var processExited = false
    public init(message: String) { self.message = message }
    public var description: String { "RedisServerError: \(self.message)" }
}
