import ArgumentParser

/// `cs-loadgen storm`: opens connections in bursts and counts failures.
struct StormCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storm",
        abstract: "Connect storm: --connections opened --burst at a time; every connection must get its hello.")

    @OptionGroup var options: LoadgenOptions
    @OptionGroup var fleet: FleetOptions

    @Option(help: "Seconds to keep the connections open once all are up.")
    var hold: Double = 2

    func run() async throws {
        SystemLimits.raiseOpenFileLimit()
        var result = ScenarioResult(scenario: "storm")
        result.parameters = ["connections": "\(fleet.connections)", "burst": "\(fleet.burst)", "gateways": options.gateways.joined(separator: ",")]
        var cpu = CPUWindow(processes: try options.watchedProcesses())
        cpu.start()
        let workers = try WorkerFleet(total: fleet.connections, perProcess: fleet.effectivePerProcess, burst: fleet.burst, options: options)
        var progress = ProgressLine(interval: options.progressInterval)
        let merged = FleetSummary(await workers.waitConnected(progress: &progress, label: "storm", total: fleet.connections))
        result.cpu = cpu.stop(startedInWindow: [("cs-loadgen workers", workers.pids)])
        try await Task.sleep(for: .seconds(hold))
        let alive = await workers.collectStats().reduce(0) { $0 + ($1.alive ?? 0) }
        await workers.close()
        result.storm = StormMetrics(
            connections: fleet.connections, burst: fleet.burst, opened: merged.opened, failed: merged.failed, failures: merged.failures,
            aliveAfterHold: alive, workers: workers.workers.count, gateways: options.gateways.count,
            seconds: rounded(merged.seconds, 2), connectionsPerSecond: merged.seconds > 0 ? rounded(Double(merged.opened) / merged.seconds) : 0,
            connectLatency: merged.latency)
        if merged.failed > 0 || alive < fleet.connections {
            result.status = "failed"
            result.notes.append("\(merged.failed) connections failed (\(merged.failures)); \(alive) alive after \(hold) s")
        }
        progress.emit(force: true) { "storm: \(merged.opened) opened, \(merged.failed) failed in \(rounded(merged.seconds, 2)) s; p99 connect \(merged.latency.p99) µs" }
        try result.write(to: options.output)
    }
}

/// Outcome of a connect storm (latencies: TCP connect start → `hello`, in microseconds).
struct StormMetrics: Codable, Sendable {
    var connections: Int
    var burst: Int
    var opened: Int
    var failed: Int
    var failures: [String: Int]
    var aliveAfterHold: Int
    var workers: Int
    var gateways: Int
    var seconds: Double
    var connectionsPerSecond: Double
    var connectLatency: LatencySummary
}
