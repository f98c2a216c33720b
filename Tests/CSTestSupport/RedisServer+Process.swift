import Foundation
import NIOCore
import NIOPosix

extension RedisServer {
    static func findExecutable() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("redis-server")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server") {
            return URL(fileURLWithPath: "/usr/bin/redis-server")
        }
        throw RedisServerError(message: "redis-server not found on PATH or at /usr/bin/redis-server")
    }

    /// Launches the server and waits until it logged "Ready to accept connections" (so the port is
    /// bound by this process, not by some other server) and answers `PING` (see ``ping(port:)``).
    /// On failure the process is killed before the error is thrown; ``RedisServerError/processExited``
    /// tells whether it exited by itself (e.g. the port was taken).
    static func launchAndWait(
        _ executable: URL, port: Int, directory: URL, appendOnly: Bool, extraArguments: [String], timeout: Duration
    ) async throws -> Process {
        let logFile = directory.appendingPathComponent("redis.log")
        let process = Process()
        process.executableURL = executable
        process.currentDirectoryURL = directory
        process.arguments = [
            "--port", String(port), "--bind", "127.0.0.1", "--dir", directory.path,
            "--save", "", "--appendonly", appendOnly ? "yes" : "no", "--daemonize", "no",
            "--logfile", logFile.path,
        ] + extraArguments
        // Startup errors (e.g. a bad option) go to stderr before the log file is opened.
        let consoleFile = directory.appendingPathComponent("redis.console.log")
        if !FileManager.default.fileExists(atPath: consoleFile.path) {
            _ = FileManager.default.createFile(atPath: consoleFile.path, contents: nil)
        }
        let console = try FileHandle(forWritingTo: consoleFile)
        defer { try? console.close() }
        _ = try? console.seekToEnd()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = console
        process.standardError = console
        let logOffset = Self.size(of: logFile)  // the log is appended to across restarts
        try await Self.spawnWithEmptySignalMask(process)

        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                var error = RedisServerError(message: "redis-server on port \(port) exited with status \(process.terminationStatus):\n\(Self.tail(of: consoleFile))\n\(Self.tail(of: logFile))")
                error.processExited = true
                throw error
            }
            if Self.logContains("Ready to accept connections", logFile, from: logOffset), await Self.ping(port: port) {
                return process
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                Foundation.kill(process.processIdentifier, SIGKILL)
                throw error
            }
        }
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = await Self.waitForExit(process, timeout: .seconds(10))
        throw RedisServerError(message: "redis-server on port \(port) did not answer PING within \(timeout):\n\(Self.tail(of: logFile))")
    }

    /// Runs `process` from a fresh thread whose signal mask is empty.
    ///
    /// `Process.run()` gives the child the calling thread's signal mask, and Swift concurrency /
    /// Dispatch threads block most signals: a `redis-server` spawned from them never sees SIGTERM.
    static func spawnWithEmptySignalMask(_ process: Process) async throws {
        final class Box: @unchecked Sendable {
            let process: Process
            init(_ process: Process) { self.process = process }
        }
        let box = Box(process)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread {
                var empty = sigset_t()
                sigemptyset(&empty)
                pthread_sigmask(SIG_SETMASK, &empty, nil)
                continuation.resume(with: Result { try box.process.run() })
            }
            thread.name = "redis-server-spawn"
            thread.start()
        }
    }

    /// Polls until `process` exits; `false` if it is still running after `timeout`.
    static func waitForExit(_ process: Process, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// `true` if a server on 127.0.0.1:`port` answers `PING` within one second with `+PONG`, or with
    /// `-NOAUTH`/`-NOPERM` (up, but requires authentication); `false` for `-LOADING` and the like.
    static func ping(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(1))
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let timeout = channel.channel.eventLoop.scheduleTask(in: .seconds(1)) { channel.channel.close(promise: nil) }
            defer { timeout.cancel() }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: "PING\r\n"))
                var received = ByteBuffer()
                for try await var chunk in inbound {
                    received.writeBuffer(&chunk)
                    guard let line = received.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { continue }
                    let reply = String(buffer: received.getSlice(at: received.readerIndex, length: line - received.readerIndex) ?? ByteBuffer())
                    return ["+PONG", "-NOAUTH", "-NOPERM"].contains { reply.hasPrefix($0) }
                }
                return false
            }
        } catch {
            return false
        }
    }

    static func size(of file: URL) -> UInt64 {
        ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? NSNumber)?.uint64Value ?? 0
    }

    static func logContains(_ text: String, _ logFile: URL, from offset: UInt64) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: logFile) else { return false }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: offset)) != nil, let data = try? handle.readToEnd() else { return false }
        return String(decoding: data, as: UTF8.self).contains(text)
    }

    static func tail(of logFile: URL, lines: Int = 30) -> String {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return "(no log)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
