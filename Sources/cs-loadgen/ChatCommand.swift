import ArgumentParser

/// `cs-loadgen chat`: N customer/agent pairs chatting through the whole pipeline.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Customer → gateway → stream → dispatcher → pub/sub → gateway → agent: throughput and latency.",
        discussion: """
            Creates one agent per pair (capacity 1, a skill unique to this run, so earlier runs' agents \
            never take these conversations), connects agents then customers, opens one conversation per \
            customer, then measures. Without --rate every customer keeps --window messages outstanding \
            (maximum throughput); with --rate the customers together send that many messages per second \
            (latency is taken from each message's intended send time).
            """)

    @OptionGroup var options: LoadgenOptions

    @Option(help: "Customer/agent pairs.")
    var pairs: Int = 100

    @Option(help: "Messages per second from all customers together; 0 = as fast as possible (closed loop).")
    var rate: Double = 0

    @Option(help: "Closed loop: messages each customer keeps outstanding.")
    var window: Int = 4

    @Option(help: "Seconds of load before measuring.")
    var warmup: Double = 3

    @Option(help: "Seconds measured.")
    var duration: Double = 15

    @Option(name: .customLong("body-bytes"), help: "Size of each message body.")
    var bodyBytes: Int = 80

    func validate() throws {
        guard (1...20_000).contains(pairs) else { throw ValidationError("--pairs must be 1...20000") }
        guard rate >= 0, (1...1_000).contains(window) else { throw ValidationError("--rate ≥ 0, --window 1...1000") }
        guard warmup >= 0, duration > 0, (1...4_000).contains(bodyBytes) else { throw ValidationError("bad --warmup/--duration/--body-bytes") }
    }

    func run() async throws {
        SystemLimits.raiseOpenFileLimit()
        let scenario = try await ChatScenario(command: self)
        let result = await scenario.run()
        try result.write(to: options.output)
    }
}

/// What a chat run measured (rates per second, latencies in microseconds).
struct ChatMetrics: Codable, Sendable {
    var mode: String
    var pairs: Int
    var gateways: Int
    var targetRate: Double?
    var window: Int?
    var setupSeconds: Double
    var measuredSeconds: Double
    var sent: Int
    var acked: Int
    var delivered: Int
    /// Messages delivered to agents per second: the end-to-end throughput.
    var throughput: Double
    var sendRate: Double
    /// Customer send → agent receipt.
    var latency: LatencySummary
    /// Customer send → ack from the gateway (XADD done).
    var ackLatency: LatencySummary
    var errors: Int
    var errorCodes: [String: Int]
    var disconnects: Int
    var skippedSends: Int
    /// Sent during the whole run but not delivered to the agent after draining (should be 0).
    var undelivered: Int
    var redis: RedisCommandsReport?
    /// CPU time per delivered message, by process (µs): efficiency that holds even on a busy machine.
    var cpuMicrosPerMessage: [String: Double] = [:]
    /// Voluntary context switches (thread wakes) per delivered message, per watched process.
    var contextSwitchesPerMessage: [String: Double] = [:]
}
