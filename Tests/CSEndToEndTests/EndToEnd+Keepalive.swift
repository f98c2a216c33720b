import CSTestSupport
import Foundation
import Testing

/// The WebSocket keepalive (`WebSocketKeepalive`, `--ping-interval-seconds`): a quiet client that
/// answers pings stays connected; one that is gone is disconnected after two intervals.
extension EndToEnd {
    @Test("keepalive: a silent client that answers pings stays; one that stopped reading is disconnected after two intervals")
    func keepaliveKeepsLiveClientsAndDropsDeadOnes() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 0, gatewayArguments: ["--ping-interval-seconds", "1"]) { cluster, _ in
            let gateway = cluster.gateways[0]
            var clients: [LightWebSocket] = []
            for name in ["Quiet", "Gone"] {
                let session = try await gateway.http.visitorSession(name: name)
                let client = try await LightWebSocket.connect(port: gateway.port, path: "/v1/ws?token=\(session.token)", label: name)
                let greeted = await client.waitUntil(timeout: .seconds(10)) { $0.texts.contains { $0.contains(#""type":"hello""#) } }
                try #require(greeted, "\(name) got its hello: \(client.texts)")
                clients.append(client)
            }
            let (quiet, gone) = (clients[0], clients[1])
            // `gone` no longer reads: it takes no ping and sends no pong, like a peer that vanished.
            try await gone.pauseReading()
            #expect(try await Self.openConnections(gateway) == 2)

            let started = ContinuousClock.now
            let released = await Self.poll(timeout: .seconds(10)) { (try? await Self.openConnections(gateway)) == 1 }
            let waited = ContinuousClock.now - started
            #expect(released, "the gateway still holds the client that stopped reading after 10 s")
            #expect(waited >= .milliseconds(900), "disconnected after \(waited), before the first ping could go unanswered")

            // The quiet client sent nothing after its hello either; answering pings kept it.
            try await Task.sleep(for: .seconds(3))
            #expect(!quiet.ended, "the quiet client that answers pings was disconnected")
            #expect(try await Self.openConnections(gateway) == 1)
            try await quiet.send(#"{"type":"ping","id":"p-1"}"#)
            let ponged = await quiet.waitUntil(timeout: .seconds(10)) { $0.texts.contains { $0.contains(#""type":"pong""#) } }
            #expect(ponged, "the quiet client still gets answers: \(quiet.texts)")
            await quiet.close()
            gone.abort()
        }
    }
}
