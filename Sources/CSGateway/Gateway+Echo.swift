import CSCore
import Hummingbird
import HummingbirdWebSocket

extension GatewayContext {
    /// `GET /v1/test/echo`: a WebSocket that writes every text and binary message back as it came.
    ///
    /// Test only: it exists when the gateway runs with `--enable-test-echo`
    /// (`GatewayConfiguration.enableTestEcho`), so that a WebSocket conformance suite (Autobahn
    /// cases, `scripts/test-conformance.sh`) can drive the gateway's own WebSocket stack. It runs
    /// on the same server as `/v1/ws`, so it has the same WebSocket configuration: frames up to
    /// `ClientFrame.Limits.maxFrameBytes` (64 KiB; larger ones close with 1009), UTF-8
    /// validation of text (1007), automatic pings, no compression. Messages are limited to the
    /// same size as on `/v1/ws`. No token, no Redis, no origin check: never enable it in production.
    func addEchoRoute(to router: Router<GatewayRequestContext>) {
        router.ws("/v1/test/echo") { inbound, outbound, context in
            defer { context.requestContext.releaseWebSocketHandler() }
            for try await message in inbound.messages(maxSize: ClientFrame.Limits.maxFrameBytes) {
                switch message {
                case .text(let text): try await outbound.write(.text(text))
                case .binary(let buffer): try await outbound.write(.binary(buffer))
                }
            }
        }
    }
}
