import Foundation

/// A real HTTP receiver for webhook tests (Tests/webhooks/receiver.py, run with python3): it
/// records every request in arrival order, and answers by path (`/ok`, `/fail<K>`, `/slow<MS>`,
/// `/always500`, `/redirect`, `/big`; see the script). It can be stopped and started again on the
/// same port (a receiver that is down for a while).
public final class WebhookReceiver: @unchecked Sendable {
    public let port: Int
    public let logFile: URL
    let launcher: ProcessLauncher
    private let lock = NSLock()
    private var process: ManagedProcess?
    private var runs = 0

    public struct Request: Sendable {
        public var n: Int
        public var path: String
        public var eventID: String
        public var timestamp: String
        public var signature: String
        public var body: String
        public var status: Int
    }

    public init(launcher: ProcessLauncher) throws {
        self.launcher = launcher
        port = try FreePort.next()
        logFile = launcher.logFile(for: "webhook-receiver-requests")
        try? FileManager.default.removeItem(at: logFile)
    }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Starts the receiver and waits until it accepts connections.
    public func start() async throws {
        let python = try Cluster.findProgram("python3")
        let script = BuildProducts.packageRoot.appendingPathComponent("Tests/webhooks/receiver.py")
        let run = lock.withLock { runs += 1; return runs }
        let started = try launcher.launch(at: python, name: "webhook-receiver-\(run)", arguments: [script.path, String(port), logFile.path])
        lock.withLock { process = started }
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if started.log().contains("listening") { return }
            if let status = started.exitStatus { throw LaunchError.exitedEarly(name: started.name, status: status, logTail: started.logTail()) }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw LaunchError.notReady(name: started.name, detail: "no 'listening' line", logTail: started.logTail())
    }

    /// Kills the receiver: the port refuses connections until `start()`.
    public func stop() async {
        let running = lock.withLock { process }
        _ = await running?.kill()
    }

    /// Every request so far, in arrival order.
    public func requests() -> [Request] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = JSONValue.parse(String(line)) else { return nil }
            return Request(
                n: object["n"]?.intValue ?? 0, path: object["path"]?.stringValue ?? "", eventID: object["eventId"]?.stringValue ?? "",
                timestamp: object["timestamp"]?.stringValue ?? "", signature: object["signature"]?.stringValue ?? "",
                body: object["body"]?.stringValue ?? "", status: object["status"]?.intValue ?? 0)
        }
    }

    /// Waits until `condition` holds for the requests so far; returns them.
    @discardableResult
    public func waitUntil(_ what: String, timeout: Duration = .seconds(60), _ condition: ([Request]) -> Bool) async throws -> [Request] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = requests()
            if condition(seen) { return seen }
            guard ContinuousClock.now < deadline else {
                throw LaunchError.notReady(name: "webhook receiver", detail: "timed out waiting for \(what); \(seen.count) requests", logTail: "")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension Cluster {
    /// Starts a `cs-webhooks` process (stopped with the others at the end of the test).
    @discardableResult
    public func startWebhooks(id: String, extraArguments: [String] = []) throws -> ManagedProcess {
        let process = try launcher.launch(
            "cs-webhooks", name: "webhooks-\(id)",
            arguments: ["--redis-url", redisURL, "--webhooks-id", id, "--log-level", configuration.logLevel] + extraArguments)
        lock.withLock { _webhooks.append(process) }
        return process
    }

    public var webhookProcesses: [ManagedProcess] { lock.withLock { _webhooks } }

    /// SIGKILL, deliberately (not reported at shutdown).
    public func killProcess(_ process: ManagedProcess) async {
        _ = lock.withLock { deliberatelyKilled.insert(ObjectIdentifier(process)) }
        _ = await process.kill()
    }
}
