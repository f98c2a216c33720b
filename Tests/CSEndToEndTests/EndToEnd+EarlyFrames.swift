import CSTestSupport
import Testing

/// A client that sends its first WebSocket frames in the same write as the upgrade request (no
/// wait for the 101). NIO's HTTP decoder hands those bytes on as raw bytes when the upgrade
/// removes it; an HTTP-typed handler still in the pipeline then trapped and took the whole
/// gateway down (found while measuring uploads, issue 20).
extension EndToEnd {
    @Test("hostile: frames in the same write as the upgrade request are served, the gateway lives")
    func framesWithTheUpgradeRequest() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments) { cluster, _ in
            let gateway = cluster.gateways[0]
            let session = try await gateway.http.visitorSession(name: "Early")
            let ping = RawWebSocket.frame(opcode: 0x9, payload: Array("early".utf8))
            let result = try await RawWebSocket.exchange(
                port: gateway.port, path: "/v1/ws?token=\(session.token)",
                frames: [RawWebSocket.frame(opcode: 0x8, payload: [0x03, 0xE8])], withRequest: ping, timeout: .seconds(15))
            #expect(result.status == 101, "\(result.status)")
            #expect(result.frames.contains { $0.opcode == 0xA && $0.text == "early" }, "the early ping is answered: \(result.frames)")
            // Still serving, and still alive.
            let again = try await gateway.http.visitorSession(name: "After")
            #expect(!again.token.isEmpty)
            #expect(cluster.unexpectedlyExited().isEmpty, "\(cluster.unexpectedlyExited())")
        }
    }
}
