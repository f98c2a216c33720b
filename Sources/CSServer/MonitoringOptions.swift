import ArgumentParser

/// Heartbeat and monitoring-endpoint options of the dispatcher and the notifier (the gateway
/// serves `/metrics` on its own HTTP port).
public struct MonitoringOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("metrics-port"), help: "Serve /metrics, /healthz and /readyz on this port (env CS_METRICS_PORT; default: off).")
    public var metricsPort: Int? = environment("CS_METRICS_PORT").flatMap(Int.init)

    @Option(name: .customLong("metrics-host"), help: "Address for --metrics-port (env CS_METRICS_HOST).")
    public var metricsHost: String = environment("CS_METRICS_HOST") ?? "127.0.0.1"

    @Option(name: .customLong("heartbeat-ms"), help: "How often the heartbeat hash cs:{ops}:proc:<id> is written (env CS_HEARTBEAT_MS).")
    public var heartbeatMilliseconds: Int = environment("CS_HEARTBEAT_MS").flatMap(Int.init) ?? 5_000

    public init() {}

    public func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0...65535") }
        guard (100...600_000).contains(heartbeatMilliseconds) else { throw ValidationError("--heartbeat-ms must be 100...600000") }
    }
}
