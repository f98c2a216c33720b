import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// Runs every `cs-loadgen` scenario at a tiny size against a real two-gateway system and
    /// checks that each JSON result is sane. These prove the benchmarks work; `make bench`
    /// (docs/benchmarks.md) runs them at size.
    @Test("cs-loadgen runs chat, idle, storm and broadcast and reports sane JSON")
    func loadgenScenariosAtTinySize() async throws {
        let redis = try await RedisServer()
        var configuration = Cluster.Configuration(gateways: 2, dispatchers: 1, notifiers: 1)
        configuration.logLevel = "warning"
        do {
            try await Cluster.run(
                redisURL: redis.url, configuration: configuration,
                onShutdownProblems: { problems in for problem in problems { Issue.record(Comment(rawValue: "shutdown: \(problem)")) } }
            ) { cluster in
                try await Self.checkLoadgenScenarios(cluster)
            }
        } catch {
            try? await redis.stop()
            throw error
        }
        try await redis.stop()
    }

    private static func checkLoadgenScenarios(_ cluster: Cluster) async throws {
        let gateways = cluster.gateways.flatMap { ["--gateway", $0.baseURL.absoluteString] }
        let common = gateways + ["--redis-url", cluster.redisURL, "--threads", "1", "--source-addresses", "2", "--progress-interval", "0"]
        let environment = ["CS_JWT_SECRET": cluster.configuration.jwtSecret]
        func loadgen(_ arguments: [String]) async throws -> JSONValue {
            let output = try await cluster.launcher.run(
                BuildProducts.executable("cs-loadgen"), name: "cs-loadgen-\(arguments[0])", arguments: arguments + common,
                environment: environment, timeout: .seconds(60))
            return try #require(JSONValue.parse(output), "cs-loadgen \(arguments[0]) printed no JSON: \(output)")
        }

        let chat = try await loadgen(["chat", "--pairs", "2", "--window", "2", "--warmup", "0.5", "--duration", "1.5"])
        #expect(chat["status"]?.stringValue == "ok", "\(chat)")
        let metrics = try #require(chat["chat"], "\(chat)")
        #expect((metrics["delivered"]?.intValue ?? 0) > 0, "\(chat)")
        #expect((metrics["latency"]?["count"]?.intValue ?? 0) > 0, "\(chat)")
        #expect((metrics["latency"]?["p50"]?.intValue ?? 0) <= (metrics["latency"]?["p99"]?.intValue ?? -1), "\(chat)")
        #expect(metrics["undelivered"]?.intValue == 0, "\(chat)")
        #expect(metrics["errors"]?.intValue == 0, "\(chat)")
        #expect((metrics["redis"]?["commandsPerMessage"]?.doubleNumber ?? 0) > 1, "\(chat)")
        #expect(chat["cpu"]?["coresByProcess"]?["cs-loadgen"] != nil, "\(chat)")

        let gatewayPIDs = cluster.gateways.flatMap { ["--gateway-pid", String($0.process.pid)] }
        let idle = try await loadgen(["idle", "--connections", "20", "--burst", "10", "--settle", "0.5"] + gatewayPIDs)
        #expect(idle["status"]?.stringValue == "ok", "\(idle)")
        #expect(idle["idle"]?["alive"]?.intValue == 20, "\(idle)")
        #expect((idle["idle"]?["gatewayRSSAfter"]?.intValue ?? 0) > 0, "\(idle)")

        let storm = try await loadgen(["storm", "--connections", "30", "--burst", "15", "--per-process", "20", "--hold", "0.2"])
        #expect(storm["status"]?.stringValue == "ok", "\(storm)")
        #expect(storm["storm"]?["opened"]?.intValue == 30, "\(storm)")
        #expect(storm["storm"]?["failed"]?.intValue == 0, "\(storm)")
        #expect(storm["storm"]?["workers"]?.intValue == 2, "\(storm)")

        // Every announcement reaches every connection, through the notifier's one PUBLISH.
        let broadcast = try await loadgen(["broadcast", "--connections", "10", "--broadcasts", "2", "--probe-timeout", "5", "--interval", "0.1"])
        #expect(broadcast["status"]?.stringValue == "ok", "\(broadcast)")
        #expect(broadcast["broadcast"]?["complete"]?.intValue == 2, "\(broadcast)")
        #expect(broadcast["broadcast"]?["missingReceipts"]?.intValue == 0, "\(broadcast)")
        #expect((broadcast["broadcast"]?["latencyToLast"]?["count"]?.intValue ?? 0) == 2, "\(broadcast)")
        #expect(broadcast["broadcast"]?["publishPerBroadcast"]?.doubleNumber == 1, "\(broadcast)")
    }
}

extension JSONValue {
    /// A JSON number as a Double (integers included).
    fileprivate var doubleNumber: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}
