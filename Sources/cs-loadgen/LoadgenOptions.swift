import ArgumentParser
import CSRedis
import CSServer
import Foundation

/// Options every scenario takes: where the system is, how to authenticate, where results go.
struct LoadgenOptions: ParsableArguments {
    @Option(name: .customLong("gateway"), help: "Gateway base URL (http://127.0.0.1:8080 or ws://...); repeat for several gateways.")
    var gateways: [String] = []

    @Option(name: .customLong("redis-url"), help: "Redis of the system under test (env CS_REDIS_URL); loopback only.")
    var redisURL: String = environment("CS_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("jwt-secret"), help: "The gateways' token secret (env CS_JWT_SECRET); tokens are minted locally.")
    var jwtSecret: String = environment("CS_JWT_SECRET") ?? ""

    @Option(name: .customLong("source-addresses"), help: "How many loopback source addresses to spread client sockets over (127.0.0.2 upwards).")
    var sourceAddresses: Int = 8

    @Option(help: "Event loop threads of this process (of each worker process: at most this, and no more over all workers than the machine's cores).")
    var threads: Int = 2

    @Option(help: "Write the JSON result to this file instead of standard output.")
    var output: String?

    @Option(name: .customLong("progress-interval"), help: "Seconds between progress lines on standard error (0: none).")
    var progressInterval: Double = 1

    @Option(name: .customLong("watch"), help: "name=pid of a process whose CPU and memory the result reports (repeatable).")
    var watch: [String] = []

    func validate() throws {
        guard !gateways.isEmpty else { throw ValidationError("give at least one --gateway") }
        for gateway in gateways { _ = try GatewayAddress(parsing: gateway) }
        guard jwtSecret.utf8.count >= 32 else { throw ValidationError("--jwt-secret (or CS_JWT_SECRET) must be the gateways' secret (≥ 32 bytes)") }
        let redis = try RedisConfiguration(url: redisURL)
        guard GatewayAddress.isLoopback(redis.host) else { throw ValidationError("--redis-url must be a loopback address") }
        guard (1...250).contains(sourceAddresses) else { throw ValidationError("--source-addresses must be 1...250") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
        _ = try watchedProcesses()
    }

    func gatewayAddresses() throws -> [GatewayAddress] { try gateways.map(GatewayAddress.init(parsing:)) }

    func redisConfiguration() throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redisURL)
        configuration.clientName = "cs-loadgen"
        return configuration
    }

    /// `--watch name=pid` pairs.
    func watchedProcesses() throws -> [(name: String, pid: Int32)] {
        try watch.map { item in
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let pid = Int32(parts[1]), pid > 0 else { throw ValidationError("--watch expects name=pid, got \(item)") }
            return (String(parts[0]), pid)
        }
    }
}

/// A gateway's loopback address.
struct GatewayAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    var host: String
    var port: Int

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `http://host:port`, `ws://host:port` (any path is ignored) or `host:port`.
    init(parsing text: String) throws {
        var rest = Substring(text)
        for scheme in ["http://", "ws://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
            throw ValidationError("gateway \(text): expected http://127.0.0.1:<port>")
        }
        let host = String(rest[..<colon])
        guard Self.isLoopback(host) else { throw ValidationError("gateway \(text): only loopback gateways (127.0.0.0/8) are allowed") }
        self.init(host: host == "localhost" ? "127.0.0.1" : host, port: port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.")
    }

    var description: String { "\(host):\(port)" }
}
