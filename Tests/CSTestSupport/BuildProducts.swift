import Foundation

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
