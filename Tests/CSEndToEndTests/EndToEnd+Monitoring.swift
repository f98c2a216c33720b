import CSCore
import CSTestSupport
import Foundation
import Testing

/// Heartbeats in Redis, `/metrics` and health endpoints, and `cs-admin status`
/// (docs/operations.md, "Monitoring").
extension EndToEnd {
    @Test("monitoring: heartbeat hashes, /metrics on every process's monitoring port, /readyz, cs-admin status")
    func monitoring() async throws {
        let metricsPort = try FreePort.next()
        try await Self.withSystem(
            gatewayArguments: ["--heartbeat-ms", "300"],
            dispatcherArguments: ["--heartbeat-ms", "300", "--metrics-port", String(metricsPort)]
        ) { cluster, scope in
            let gateway = cluster.gateways[0]
            try cluster.startNotifier(id: "n-1")
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, _) = try await Self.openConversation(ann, messageID: "ann-1")
            try await ada.client.sendMessage(id: "ada-1", body: "hi", conversationID: conversationID)
            try await Self.awaitMessage(ann.client, id: "ada-1")

            // Every process beats; the counters move.
            var beats: [String: [String: String]] = [:]
            let deadline = ContinuousClock.now + .seconds(15)
            repeat {
                for id in [gateway.id, "d-1", "n-1"] { beats[id] = try await Self.aggregateHash(cluster, "cs:{ops}:proc:\(id)") }
                let ready = beats[gateway.id]?["messagesIn"].flatMap(Int.init).map { $0 >= 1 } == true
                    && beats["d-1"]?["messagesIn"].flatMap(Int.init).map { $0 >= 2 } == true && beats["n-1"]?["state"] == "running"
                if ready { break }
                try await Task.sleep(for: .milliseconds(200))
            } while ContinuousClock.now < deadline
            #expect(beats[gateway.id]?["role"] == "gateway" && beats[gateway.id]?["state"] == "running" && beats[gateway.id]?["connections"] == "2", "\(beats)")
            #expect(beats["d-1"]?["role"] == "dispatcher" && (beats["d-1"]?["messagesIn"].flatMap(Int.init) ?? 0) >= 2, "\(beats)")
            #expect(beats["n-1"]?["role"] == "notifier" && beats["n-1"]?["version"]?.isEmpty == false, "\(beats)")
            let ttl = Int(try await cluster.redisCommand(["PTTL", "cs:{ops}:proc:\(gateway.id)"]).first ?? "") ?? -1
            #expect((1...900).contains(ttl), "the heartbeat expires three intervals after the last beat: \(ttl)")
            let listed = try await cluster.redisCommand(["ZRANGE", "cs:{ops}:procs", "0", "-1"])
            #expect(Set(listed).isSuperset(of: [gateway.id, "d-1", "n-1"]), "\(listed)")

            // Prometheus text on the gateway's and the dispatcher's --metrics-port, never on the
            // gateway's public port (reachable through the balancer).
            #expect(try await gateway.http.get("/metrics").status == 404, "/metrics must not be served on the public port")
            #expect(try await gateway.monitoring.get("/readyz").status == 200)
            let gatewayMetrics = try await gateway.monitoring.get("/metrics")
            #expect(gatewayMetrics.status == 200, "\(gatewayMetrics.status)")
            for name in [#"cs_messages_in_total{role="gateway"}"#, #"cs_connections{role="gateway"} 2"#, "cs_delivery_latency_seconds_bucket"] {
                #expect(gatewayMetrics.bodyText.contains(name), "gateway /metrics lacks \(name):\n\(gatewayMetrics.bodyText.prefix(2000))")
            }
            // The committed messages written to the two clients were timed (commit → socket).
            let delivered = gatewayMetrics.bodyText.split(separator: "\n")
                .first { $0.hasPrefix(#"cs_delivery_latency_seconds_count{role="gateway"}"#) }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
            #expect(delivered >= 2, "chat messages delivered should be timed: \(delivered)")
            let monitor = GatewayHTTP(baseURL: URL(string: "http://127.0.0.1:\(metricsPort)")!)
            let dispatcherMetrics = try await monitor.get("/metrics")
            for name in [#"cs_messages_out_total{role="dispatcher"}"#, "cs_commit_latency_seconds_bucket", "cs_queue_waiting", #"cs_stream_lag{role="dispatcher"}"#] {
                #expect(dispatcherMetrics.bodyText.contains(name), "dispatcher /metrics lacks \(name):\n\(dispatcherMetrics.bodyText.prefix(2000))")
            }
            #expect(try await monitor.get("/healthz").status == 200)
            #expect(try await monitor.get("/readyz").status == 200)

            // cs-admin status shows the same.
            let status = try await cluster.admin(["status", "--redis-url", cluster.redisURL])
            for text in ["PROCESSES", "PARTITIONS", "\(gateway.id)  gateway", "d-1", "n-1", "ada", "agents online"] {
                #expect(status.contains(text), "cs-admin status lacks \(text):\n\(status)")
            }

            // A graceful stop leaves the heartbeat marked stopped.
            try #require(try await cluster.stopNotifier(try #require(cluster.notifier("n-1"))) == .exited(0))
            #expect(try await Self.aggregateHash(cluster, "cs:{ops}:proc:n-1")["state"] == "stopped")
            let after = try await cluster.admin(["status", "--redis-url", cluster.redisURL])
            #expect(after.split(separator: "\n").contains { $0.hasPrefix("n-1") && $0.contains("stopped") }, "\(after)")
        }
    }
}
