import CSRedis
import Hummingbird
import Logging

/// `/metrics` (Prometheus text format), `/healthz` and `/readyz` for any process.
public enum MonitoringRoutes {
    /// Adds the three endpoints to `router`. `/readyz` is 200 only while Redis answers `PING`.
    public static func add<Context: RequestContext>(to router: Router<Context>, redis: RedisClient, processID: String) {
        addMetrics(to: router)
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok","id":"\#(processID)"}"#)))
        }
        router.get("/readyz") { _, _ in
            do {
                _ = try await redis.send("PING")
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ready"}"#)))
            } catch {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"unavailable","message":"redis unreachable"}}"#)))
            }
        }
    }

    /// Adds `/metrics` only (the gateway has its own health endpoints).
    public static func addMetrics<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: Monitoring.render())))
        }
    }

    /// A small HTTP server with only these endpoints, for processes without an HTTP API
    /// (dispatcher, notifier). Runs as a service of the process's group.
    public static func server(host: String, port: Int, redis: RedisClient, processID: String, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        add(to: router, redis: redis, processID: processID)
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: processID),
            onServerRunning: { channel in
                logger.notice("monitoring listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
            },
            logger: logger)
    }
}
