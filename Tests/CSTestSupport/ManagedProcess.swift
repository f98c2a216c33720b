import Foundation

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
