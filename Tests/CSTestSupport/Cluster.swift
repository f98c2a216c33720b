import Foundation
import Logging

// MARK: - Cluster

/// A running `cs-gateway`.
public struct GatewayHandle: Sendable {
    public let id: String
    public let port: Int
    public let process: ManagedProcess
    /// The gateway's `--metrics-port` (`/metrics` is not on the public port).
    public var metricsPort: Int = 0

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    /// `/metrics`, `/healthz` and `/readyz` on the monitoring port.
    public var monitoring: GatewayHTTP { GatewayHTTP(baseURL: URL(string: "http://127.0.0.1:\(metricsPort)")!) }
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

    let lock = NSLock()
    var _gateways: [GatewayHandle] = []
    var _dispatchers: [ManagedProcess] = []
    var _notifiers: [ManagedProcess] = []
    var _webhooks: [ManagedProcess] = []
    var _archivers: [ManagedProcess] = []
    var deliberatelyKilled: Set<ObjectIdentifier> = []
    var commandCounter = 0

    public var gateways: [GatewayHandle] { lock.withLock { _gateways } }
    public var dispatchers: [ManagedProcess] { lock.withLock { _dispatchers } }
    public var notifiers: [ManagedProcess] { lock.withLock { _notifiers } }
    public var allProcesses: [ManagedProcess] {
        lock.withLock { _gateways.map(\.process) + _dispatchers + _notifiers + _webhooks + _archivers }
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
}
