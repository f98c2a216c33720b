import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// `kill(2)`; a free function because `ManagedProcess.kill()` shadows the C name inside the class.
@discardableResult
func posixKill(_ pid: Int32, _ signal: Int32) -> Int32 {
    kill(pid, signal)
}

// MARK: - Locating the package and the built executables

/// Where the package lives and where `swift build` put the executables.
public enum BuildProducts {
    /// The package root, derived from this file's location (`<root>/Tests/CSTestSupport/ProcessLauncher.swift`).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // CSTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // root

    /// `<root>/test-output`, git-ignored; every test writes its process logs below it.
    public static var testOutputRoot: URL { packageRoot.appendingPathComponent("test-output", isDirectory: true) }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cachedBinDirectory: URL?

    /// The directory holding `cs-gateway`, `cs-dispatcher`, … (resolved once, then cached).
    ///
    /// Order: `$CS_BIN_DIR`; the directory of the running test bundle when it holds the
    /// executables (that is the bin path `swift test` built into); `swift build --show-bin-path`;
    /// `<root>/.build/debug`.
    public static func binDirectory() throws -> URL {
        try lock.withLock {
            if let cachedBinDirectory { return cachedBinDirectory }
            let resolved = try resolveBinDirectory()
            cachedBinDirectory = resolved
            return resolved
        }
    }

    /// The full path of executable `name` (e.g. `cs-gateway`), checking that it exists.
    public static func executable(_ name: String) throws -> URL {
        let url = try binDirectory().appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw LaunchError.executableNotFound(name: name, directory: url.deletingLastPathComponent().path)
        }
        return url
    }

    private static func resolveBinDirectory() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["CS_BIN_DIR"], !dir.isEmpty {
            return URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        }
        // The test bundle is built into the bin path, next to the executables.
        let selfDir = URL(fileURLWithPath: CommandLine.arguments.first ?? "").deletingLastPathComponent()
        for candidate in [selfDir, selfDir.deletingLastPathComponent()]
        where FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("cs-gateway").path) {
            return candidate.standardizedFileURL
        }
        if let shown = try? showBinPath() {
            return shown
        }
        return packageRoot.appendingPathComponent(".build/debug", isDirectory: true)
    }

    /// Runs `swift build --show-bin-path` in the package root; gives up after 120 s (the build
    /// folder may be locked by the `swift test` that runs us).
    private static func showBinPath() throws -> URL? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "--show-bin-path"]
        process.currentDirectoryURL = packageRoot
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try ChildProcessSpawner.run(process)
        if done.wait(timeout: .now() + 120) == .timedOut {
            process.terminate()
            return nil
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0,
            let path = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !path.isEmpty
        else { return nil }
        return URL(fileURLWithPath: path, isDirectory: true)
    }
}

public enum LaunchError: Error, CustomStringConvertible {
    case executableNotFound(name: String, directory: String)
    case exitedEarly(name: String, status: ExitStatus, logTail: String)
    case notReady(name: String, detail: String, logTail: String)
    case commandFailed(command: String, status: ExitStatus, output: String)

    public var description: String {
        switch self {
        case .executableNotFound(let name, let directory):
            return "executable \(name) not found in \(directory); run `swift build` first or set CS_BIN_DIR"
        case .exitedEarly(let name, let status, let logTail):
            return "\(name) exited (\(status)) before it was ready; log tail:\n\(logTail)"
        case .notReady(let name, let detail, let logTail):
            return "\(name) did not become ready: \(detail); log tail:\n\(logTail)"
        case .commandFailed(let command, let status, let output):
            return "`\(command)` failed (\(status)):\n\(output)"
        }
    }
}

// MARK: - Exit status

public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

// MARK: - A launched process

/// A real, separate OS process started from a built executable. Its stdout and stderr go to
/// `logFile`. The process is SIGKILLed when this object is deallocated while it still runs, so a
/// failing test does not leave it behind.
public final class ManagedProcess: @unchecked Sendable, CustomStringConvertible {
    public let name: String
    public let executable: URL
    public let arguments: [String]
    public let logFile: URL

    private let process: Process
    private let exit = OneShot<ExitStatus>()
    private let lock = NSLock()
    private var signalsSent: [Int32] = []

    init(name: String, executable: URL, arguments: [String], environment: [String: String], logFile: URL) throws {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.logFile = logFile

        let fm = FileManager.default
        try fm.createDirectory(at: logFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !fm.fileExists(atPath: logFile.path) {
            _ = fm.createFile(atPath: logFile.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        let header = "=== \(Date()) starting \(executable.lastPathComponent) \(arguments.joined(separator: " "))\n"
        handle.write(Data(header.utf8))

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = BuildProducts.packageRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        let exit = self.exit
        process.terminationHandler = { finished in
            let status: ExitStatus =
                finished.terminationReason == .uncaughtSignal
                ? .signaled(finished.terminationStatus) : .exited(finished.terminationStatus)
            try? handle.close()
            exit.fulfill(status)
        }
        self.process = process
        do {
            try ChildProcessSpawner.run(process)
        } catch {
            try? handle.close()
            throw error
        }
    }

    deinit {
        if exit.value == nil {
            posixKill(process.processIdentifier, SIGKILL)
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// Whether the process has not exited yet.
    public var isRunning: Bool { exit.value == nil }

    /// The exit status, once the process has exited.
    public var exitStatus: ExitStatus? { exit.value }

    public var description: String { "\(name) (pid \(pid))" }

    /// Sends `signal` (no-op once the process has exited).
    public func send(signal: Int32) {
        guard isRunning else { return }
        lock.withLock { signalsSent.append(signal) }
        posixKill(process.processIdentifier, signal)
    }

    /// Waits until the process exits.
    /// - Throws: `TimeLimitExceeded` when it is still running after `timeout`.
    @discardableResult
    public func waitUntilExit(timeout: Duration) async throws -> ExitStatus {
        if let status = exit.value { return status }
        let exit = self.exit
        return try await TimeLimit.run(timeout, "\(name) to exit") { try await exit.wait() }
    }

    /// SIGTERM, then waits for a graceful exit. When the process is still running after `timeout`
    /// it is SIGKILLed and `TimeLimitExceeded` is thrown (a graceful stop that hangs is a bug).
    @discardableResult
    public func terminate(timeout: Duration = .seconds(30)) async throws -> ExitStatus {
        if let status = exit.value { return status }
        send(signal: SIGTERM)
        do {
            return try await waitUntilExit(timeout: timeout)
        } catch {
            await kill()
            throw error
        }
    }

    /// SIGKILL and wait until the kernel reaped it.
    @discardableResult
    public func kill() async -> ExitStatus {
        if let status = exit.value { return status }
        send(signal: SIGKILL)
        // SIGKILL cannot be ignored; the wait only covers reaping. Not cancellable on purpose, so
        // teardown still completes in a cancelled test.
        return await exit.waitIgnoringCancellation()
    }

    /// The whole log written so far.
    public func log() -> String {
        (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
    }

    /// The last `lines` lines of the log, for failure messages.
    public func logTail(lines: Int = 40) -> String {
        let all = log().split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }
}

// MARK: - Spawning with a clean signal mask

/// Starts a Foundation `Process` so that the child begins with no blocked signals.
///
/// `Process.run()` spawns the child with the signal mask of the calling thread, and the threads
/// that run Swift concurrency and Dispatch work block most signals (SIGTERM, SIGINT, SIGHUP, …).
/// A child spawned from a test would then never see SIGTERM: `redis-server` ignores it and a
/// graceful-stop check would test nothing. So the spawn happens on a short-lived thread whose
/// mask is cleared first.
public enum ChildProcessSpawner {
    public static func run(_ process: Process) throws {
        final class Outcome: @unchecked Sendable {
            var error: (any Error)?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var empty = sigset_t()
            sigemptyset(&empty)
            pthread_sigmask(SIG_SETMASK, &empty, nil)
            do {
                try process.run()
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        thread.name = "cs-test-spawn"
        thread.start()
        done.wait()
        if let error = outcome.error { throw error }
    }
}

// MARK: - Launcher

/// Starts executables for one test, logging to `test-output/<test-name>/<process>.log`.
public struct ProcessLauncher: Sendable {
    public let testName: String
    public let logDirectory: URL
    public let environment: [String: String]

    /// - Parameters:
    ///   - testName: usually the test function (`#function`); sanitized into a folder name.
    ///   - cleanLogs: remove logs a previous run of the same test left behind.
    public init(testName: String, environment: [String: String] = [:], cleanLogs: Bool = true) {
        let folder = ProcessLauncher.sanitize(testName)
        self.testName = folder
        self.logDirectory = BuildProducts.testOutputRoot.appendingPathComponent(folder, isDirectory: true)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        self.environment = env
        if cleanLogs {
            try? FileManager.default.removeItem(at: logDirectory)
        }
        try? FileManager.default.createDirectory(at: logDirectory, withIntermediateDirectories: true)
    }

    static func sanitize(_ name: String) -> String {
        var base = name
        if let paren = base.firstIndex(of: "(") { base = String(base[..<paren]) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let cleaned = String(base.map { allowed.contains($0) ? $0 : "_" })
        return cleaned.isEmpty ? "unnamed-test" : cleaned
    }

    public func logFile(for processName: String) -> URL {
        logDirectory.appendingPathComponent(ProcessLauncher.sanitize(processName) + ".log")
    }

    /// Starts built executable `executable` (e.g. `cs-gateway`) as process `name`.
    public func launch(
        _ executable: String,
        name: String,
        arguments: [String],
        environment extra: [String: String] = [:]
    ) throws -> ManagedProcess {
        try launch(at: BuildProducts.executable(executable), name: name, arguments: arguments, environment: extra)
    }

    /// Starts the executable at `url` (any program, e.g. `/usr/bin/redis-cli`).
    public func launch(
        at url: URL,
        name: String,
        arguments: [String],
        environment extra: [String: String] = [:]
    ) throws -> ManagedProcess {
        var env = environment
        for (key, value) in extra { env[key] = value }
        return try ManagedProcess(name: name, executable: url, arguments: arguments, environment: env, logFile: logFile(for: name))
    }

    /// Runs a command to completion and returns its stdout (stderr goes to the log).
    /// - Throws: `LaunchError.commandFailed` on a non-zero exit, `TimeLimitExceeded` on timeout.
    public func run(
        _ executable: URL,
        name: String,
        arguments: [String],
        environment extra: [String: String] = [:],
        timeout: Duration = .seconds(60)
    ) async throws -> String {
        let outFile = logDirectory.appendingPathComponent(ProcessLauncher.sanitize(name) + ".out")
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outFile)
        defer { try? outHandle.close() }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = environment
        for (key, value) in extra { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = BuildProducts.packageRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        let logURL = logFile(for: name)
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: logURL)
        defer { try? errHandle.close() }
        process.standardError = errHandle
        let exit = OneShot<ExitStatus>()
        process.terminationHandler = { finished in
            exit.fulfill(
                finished.terminationReason == .uncaughtSignal
                    ? .signaled(finished.terminationStatus) : .exited(finished.terminationStatus))
        }
        try ChildProcessSpawner.run(process)
        let command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
        let status: ExitStatus
        do {
            status = try await TimeLimit.run(timeout, "`\(command)` to finish") { try await exit.wait() }
        } catch {
            posixKill(process.processIdentifier, SIGKILL)
            throw error
        }
        let stdout = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
        guard status.isSuccess else {
            let stderr = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            throw LaunchError.commandFailed(command: command, status: status, output: stdout + stderr)
        }
        return stdout
    }
}

// MARK: - Cluster

/// A running `cs-gateway`.
public struct GatewayHandle: Sendable {
    public let id: String
    public let port: Int
    public let process: ManagedProcess

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public var webSocketURL: String { "ws://127.0.0.1:\(port)/v1/ws" }
    public var http: GatewayHTTP { GatewayHTTP(baseURL: baseURL) }
}

/// The system under test: gateways, dispatchers and notifiers against one Redis, started as real
/// processes. Create it with ``Cluster/run(testName:redisURL:configuration:_:)`` so that
/// everything is stopped on every path.
public final class Cluster: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var gateways: Int = 1
        public var dispatchers: Int = 1
        public var notifiers: Int = 0
        public var partitions: Int = 8
        public var leaseMilliseconds: Int = 3000
        public var jwtSecret: String = "e2e-secret-\(UUID().uuidString)"
        public var logLevel: String = "info"
        public var readyTimeout: Duration = .seconds(90)
        public var stopTimeout: Duration = .seconds(30)
        public var extraGatewayArguments: [String] = []
        public var extraDispatcherArguments: [String] = []
        public var environment: [String: String] = [:]

        public init(gateways: Int = 1, dispatchers: Int = 1, notifiers: Int = 0, leaseMilliseconds: Int = 3000) {
            self.gateways = gateways
            self.dispatchers = dispatchers
            self.notifiers = notifiers
            self.leaseMilliseconds = leaseMilliseconds
        }
    }

    public let redisURL: String
    public let configuration: Configuration
    public let launcher: ProcessLauncher
    public let logger: Logger

    private let lock = NSLock()
    private var _gateways: [GatewayHandle] = []
    private var _dispatchers: [ManagedProcess] = []
    private var _notifiers: [ManagedProcess] = []
    private var deliberatelyKilled: Set<ObjectIdentifier> = []
    private var commandCounter = 0

    public var gateways: [GatewayHandle] { lock.withLock { _gateways } }
    public var dispatchers: [ManagedProcess] { lock.withLock { _dispatchers } }
    public var notifiers: [ManagedProcess] { lock.withLock { _notifiers } }
    public var allProcesses: [ManagedProcess] {
        lock.withLock { _gateways.map(\.process) + _dispatchers + _notifiers }
    }

    public init(testName: String, redisURL: String, configuration: Configuration = .init()) {
        self.redisURL = redisURL
        self.configuration = configuration
        self.launcher = ProcessLauncher(testName: testName, environment: configuration.environment)
        var logger = Logger(label: "cluster.\(launcher.testName)")
        logger.logLevel = .info
        self.logger = logger
    }

    /// Starts the configured topology, runs `body`, and stops every process on every path (also
    /// when `body` throws). Processes that did not exit 0 on SIGTERM are reported through
    /// `onShutdownProblems` (tests record them as issues). On failure, the tail of every log is
    /// printed to stderr.
    public static func run<R: Sendable>(
        testName: String = #function,
        redisURL: String,
        configuration: Configuration = .init(),
        onShutdownProblems: (([String]) -> Void)? = nil,
        _ body: (Cluster) async throws -> R
    ) async throws -> R {
        let cluster = Cluster(testName: testName, redisURL: redisURL, configuration: configuration)
        let result: R
        do {
            try await cluster.startConfiguredTopology()
            result = try await body(cluster)
        } catch {
            cluster.printLogTails(reason: "\(error)")
            let problems = await cluster.stopAll(gracefully: true)
            if !problems.isEmpty { onShutdownProblems?(problems) }
            throw error
        }
        let problems = await cluster.stopAll(gracefully: true)
        if !problems.isEmpty {
            cluster.printLogTails(reason: problems.joined(separator: "; "))
            onShutdownProblems?(problems)
        }
        return result
    }

    /// Starts `configuration.gateways` gateways (`gw-1`…), dispatchers (`d-1`…) and notifiers
    /// (`n-1`…), waiting until every gateway's `/readyz` answers 200.
    public func startConfiguredTopology() async throws {
        for i in 1...max(configuration.dispatchers, 1) where configuration.dispatchers > 0 {
            try startDispatcher(id: "d-\(i)")
        }
        for i in 1...max(configuration.notifiers, 1) where configuration.notifiers > 0 {
            try startNotifier(id: "n-\(i)")
        }
        // Start gateways concurrently: each waits for its own readiness.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 1...max(configuration.gateways, 1) where configuration.gateways > 0 {
                group.addTask { _ = try await self.startGateway(id: "gw-\(i)") }
            }
            try await group.waitForAll()
        }
        // A dispatcher that died right away (bad flag, crash at start) fails the setup early.
        for process in dispatchers + notifiers where !process.isRunning {
            throw LaunchError.exitedEarly(name: process.name, status: process.exitStatus!, logTail: process.logTail())
        }
        lock.withLock { _gateways.sort { $0.id.localizedStandardCompare($1.id) == .orderedAscending } }
    }

    /// Starts a gateway on a free port and waits until `/readyz` is 200. A port lost to a race
    /// (the process exits early) is retried on another port.
    @discardableResult
    public func startGateway(id: String, jwtSecret: String? = nil, extraArguments: [String] = []) async throws -> GatewayHandle {
        var lastError: (any Error)?
        for attempt in 1...3 {
            let port = try FreePort.next()
            let name = attempt == 1 ? "gateway-\(id)" : "gateway-\(id)-attempt\(attempt)"
            let process = try launcher.launch(
                "cs-gateway",
                name: name,
                arguments: [
                    "--redis-url", redisURL,
                    "--host", "127.0.0.1",
                    "--port", String(port),
                    "--gateway-id", id,
                    "--jwt-secret", jwtSecret ?? configuration.jwtSecret,
                    "--partitions", String(configuration.partitions),
                    "--log-level", configuration.logLevel,
                ] + configuration.extraGatewayArguments + extraArguments
            )
            let handle = GatewayHandle(id: id, port: port, process: process)
            lock.withLock { _gateways.append(handle) }
            do {
                try await waitUntilReady(handle, timeout: configuration.readyTimeout)
                return handle
            } catch let error as LaunchError {
                lastError = error
                guard case .exitedEarly = error else { break }
                lock.withLock { _gateways.removeAll { $0.process === process } }
                logger.warning("gateway \(id) exited during start (attempt \(attempt)); retrying on another port")
            }
        }
        throw lastError!
    }

    /// Polls `GET /readyz` until it answers 200.
    public func waitUntilReady(_ gateway: GatewayHandle, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastDetail = "no answer yet"
        while ContinuousClock.now < deadline {
            if let status = gateway.process.exitStatus {
                throw LaunchError.exitedEarly(name: gateway.process.name, status: status, logTail: gateway.process.logTail())
            }
            do {
                let response = try await gateway.http.get("/readyz", timeout: .seconds(5))
                if response.status == 200 { return }
                lastDetail = "GET /readyz answered \(response.status): \(response.bodyText)"
            } catch {
                lastDetail = "GET /readyz failed: \(error)"
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LaunchError.notReady(name: gateway.process.name, detail: lastDetail, logTail: gateway.process.logTail())
    }

    @discardableResult
    public func startDispatcher(id: String, leaseMilliseconds: Int? = nil, extraArguments: [String] = []) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-dispatcher",
            name: "dispatcher-\(id)",
            arguments: [
                "--redis-url", redisURL,
                "--dispatcher-id", id,
                "--partitions", String(configuration.partitions),
                "--lease-ms", String(leaseMilliseconds ?? configuration.leaseMilliseconds),
                "--log-level", configuration.logLevel,
            ] + configuration.extraDispatcherArguments + extraArguments
        )
        lock.withLock { _dispatchers.append(process) }
        return process
    }

    @discardableResult
    public func startNotifier(id: String) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-notifier",
            name: "notifier-\(id)",
            arguments: ["--redis-url", redisURL, "--notifier-id", id, "--log-level", configuration.logLevel]
        )
        lock.withLock { _notifiers.append(process) }
        return process
    }

    public func gateway(_ id: String) -> GatewayHandle? { gateways.first { $0.id == id } }
    public func dispatcher(_ id: String) -> ManagedProcess? { dispatchers.first { $0.name == "dispatcher-\(id)" } }

    /// SIGKILLs `process` and remembers that its death is intended (not reported at shutdown).
    @discardableResult
    public func kill(_ process: ManagedProcess) async -> ExitStatus {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(process)) }
        return await process.kill()
    }

    /// Processes that died although the test did not kill them.
    public func unexpectedlyExited() -> [ManagedProcess] {
        let killed = lock.withLock { deliberatelyKilled }
        return allProcesses.filter { !$0.isRunning && !killed.contains(ObjectIdentifier($0)) }
    }

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

    /// `cs-admin agent add`.
    public func addAgent(id: String, name: String, password: String, skills: [String] = ["default"], max: Int) async throws {
        try await admin([
            "agent", "add", "--id", id, "--name", name, "--password", password,
            "--skills", skills.joined(separator: ","), "--max", String(max),
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

    /// Stops every process: gateways first (clients get 1001), then dispatchers and notifiers.
    /// With `gracefully`, SIGTERM and wait, SIGKILL after `stopTimeout`; returns what went wrong
    /// (a process that had died unexpectedly, did not stop in time, or exited non-zero).
    @discardableResult
    public func stopAll(gracefully: Bool) async -> [String] {
        let (gateways, others, killed) = lock.withLock {
            (_gateways.map(\.process), _dispatchers + _notifiers, deliberatelyKilled)
        }
        var problems: [String] = []
        for process in gateways + others where !process.isRunning && !killed.contains(ObjectIdentifier(process)) {
            problems.append("\(process.name) had exited unexpectedly (\(process.exitStatus!)); see \(process.logFile.path)")
        }
        for group in [gateways, others] {
            let running = group.filter(\.isRunning)
            if !gracefully {
                for process in running { await process.kill() }
                continue
            }
            let timeout = configuration.stopTimeout
            let results = await withTaskGroup(of: String?.self) { tasks in
                for process in running {
                    tasks.addTask {
                        do {
                            let status = try await process.terminate(timeout: timeout)
                            return status.isSuccess ? nil : "\(process.name) exited with \(status) after SIGTERM; see \(process.logFile.path)"
                        } catch {
                            return "\(process.name) did not exit within \(timeout) of SIGTERM and was killed; see \(process.logFile.path)"
                        }
                    }
                }
                var found: [String] = []
                for await problem in tasks { if let problem { found.append(problem) } }
                return found
            }
            problems += results
        }
        return problems
    }

    /// Prints the last lines of every log to stderr (failures in CI are diagnosed from this).
    public func printLogTails(reason: String, lines: Int = 30) {
        var text = "\n===== \(launcher.testName): \(reason)\n"
        for process in allProcesses {
            text += "----- \(process.name) [\(process.isRunning ? "running" : "\(process.exitStatus!)")] \(process.logFile.path)\n"
            text += process.logTail(lines: lines) + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension Array where Element == String {
    fileprivate func dropLastEmpty() -> [String] {
        var copy = self
        while copy.last == "" { copy.removeLast() }
        return copy
    }
}

// MARK: - Small concurrency helpers

/// Thrown when an awaited condition does not happen in time.
public struct TimeLimitExceeded: Error, CustomStringConvertible {
    public let waitingFor: String
    public let limit: Duration
    public let detail: String

    public init(waitingFor: String, limit: Duration, detail: String = "") {
        self.waitingFor = waitingFor
        self.limit = limit
        self.detail = detail
    }

    public var description: String {
        "timed out after \(limit) waiting for \(waitingFor)" + (detail.isEmpty ? "" : "\n\(detail)")
    }
}

public enum TimeLimit {
    /// Runs `operation` in a child task and cancels it when `limit` passes first.
    public static func run<T: Sendable>(
        _ limit: Duration,
        _ waitingFor: @autoclosure () -> String,
        operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let what = waitingFor()
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TimeLimitExceeded(waitingFor: what, limit: limit)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// A value set once; any number of tasks can wait for it (cancellably).
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value?
    /// Waiters are resumed with the value, or with nil when they are cancelled.
    private var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    var value: Value? { lock.withLock { _value } }

    /// Sets the value (first call wins) and wakes every waiter.
    @discardableResult
    func fulfill(_ value: Value) -> Bool {
        let toResume: [CheckedContinuation<Value?, Never>]? = lock.withLock {
            guard _value == nil else { return nil }
            _value = value
            let all = Array(waiters.values)
            waiters.removeAll()
            return all
        }
        guard let toResume else { return false }
        for waiter in toResume { waiter.resume(returning: value) }
        return true
    }

    /// Waits for the value. - Throws: `CancellationError` when the task is cancelled first.
    func wait() async throws -> Value {
        guard let result = await wait(cancellable: true) else { throw CancellationError() }
        return result
    }

    /// Waits for the value even when the task is cancelled (teardown paths).
    func waitIgnoringCancellation() async -> Value {
        await wait(cancellable: false)!
    }

    private func wait(cancellable: Bool) async -> Value? {
        let id: UInt64 = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                lock.lock()
                if let value = _value {
                    lock.unlock()
                    continuation.resume(returning: value)
                } else if cancellable && Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            guard cancellable else { return }
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
