import ArgumentParser
import CSGateway
import CSServer
import Hummingbird
import Logging

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-gateway",
        abstract: "Holds client WebSocket connections and publishes what clients send to Redis streams.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Listen address (env CS_HOST).")
    var host: String = environment("CS_HOST") ?? "127.0.0.1"

    @Option(help: "Listen port (env CS_PORT).")
    var port: Int = environment("CS_PORT").flatMap(Int.init) ?? 8080

    @Option(name: .customLong("gateway-id"), help: "Unique id of this gateway (env CS_GATEWAY_ID; default gw-<host>-<pid>).")
    var gatewayID: String = environment("CS_GATEWAY_ID") ?? defaultProcessID("gw")

    @Option(name: .customLong("jwt-secret"), help: "HMAC secret for agent and visitor tokens, the same on every gateway (env CS_JWT_SECRET).")
    var jwtSecret: String = environment("CS_JWT_SECRET") ?? ""

    @Option(name: .customLong("presence-ttl-ms"), help: "How long an agent stays present without a heartbeat; heartbeats every third of it (env CS_PRESENCE_TTL_MS).")
    var presenceTTLMilliseconds: Int = environment("CS_PRESENCE_TTL_MS").flatMap(Int.init) ?? 15_000

    @Option(name: .customLong("admin-key"), help: "Key back-office systems send as X-Admin-Key to the notification API; at least 32 bytes (env CS_ADMIN_KEY; unset: supervisors only).")
    var adminKey: String? = environment("CS_ADMIN_KEY")

    func validate() throws {
        if let adminKey, adminKey.utf8.count < 32 { throw ValidationError("--admin-key must be at least 32 bytes") }
        guard presenceTTLMilliseconds >= 300 else { throw ValidationError("--presence-ttl-ms must be at least 300") }
        guard jwtSecret.utf8.count >= 32 else {
            throw ValidationError("--jwt-secret (or CS_JWT_SECRET) must be at least 32 bytes (e.g. openssl rand -hex 32)")
        }
    }

    func run() async throws {
        common.bootstrapLogging()
        var logger = Logger(label: "cs-gateway")
        logger[metadataKey: "gateway"] = "\(gatewayID)"
        var configuration = GatewayConfiguration(
            redis: try common.redisConfiguration(clientName: gatewayID), host: host, port: port, gatewayID: gatewayID,
            jwtSecret: jwtSecret, partitions: common.partitions)
        configuration.presenceTTLMilliseconds = presenceTTLMilliseconds
        configuration.adminKey = adminKey
        let app = try await buildGateway(configuration, logger: logger)
        try await app.runService()
    }
}
