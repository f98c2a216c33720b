import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
