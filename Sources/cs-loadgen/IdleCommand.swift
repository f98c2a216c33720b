import ArgumentParser
import Foundation
import Histogram

/// `cs-loadgen idle`: N idle authenticated connections; gateway memory per connection from /proc.
struct IdleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Idle authenticated connections: gateway memory (RSS from /proc) per connection.")

    @OptionGroup var options: LoadgenOptions
    @OptionGroup var fleet: FleetOptions

    @Option(name: .customLong("gateway-pid"), help: "Process id of a gateway whose memory is measured (repeatable; all gateways).")
    var gatewayPIDs: [Int32] = []

    @Option(help: "Seconds to wait after the last connection before reading memory.")
    var settle: Double = 3

    func validate() throws {
        guard !gatewayPIDs.isEmpty else { throw ValidationError("give every gateway's --gateway-pid") }
    }

    func run() async throws {
        SystemLimits.raiseOpenFileLimit()
        var result = ScenarioResult(scenario: "idle")
        result.parameters = ["connections": "\(fleet.connections)", "burst": "\(fleet.burst)", "gateways": options.gateways.joined(separator: ",")]
        func gatewayRSS() -> Int { gatewayPIDs.compactMap(ProcessSampler.residentBytes(pid:)).reduce(0, +) }
        let before = gatewayRSS()
        var cpu = CPUWindow(processes: try options.watchedProcesses())
        cpu.start()
        let workers = try WorkerFleet(total: fleet.connections, perProcess: fleet.effectivePerProcess, burst: fleet.burst, options: options)
        var progress = ProgressLine(interval: options.progressInterval)
        let reports = await workers.waitConnected(progress: &progress, label: "idle", total: fleet.connections)
        result.cpu = cpu.stop(startedInWindow: [("cs-loadgen workers", workers.pids)])
        try await Task.sleep(for: .seconds(settle))
        let stats = await workers.collectStats()
        let after = gatewayRSS()
        let alive = stats.reduce(0) { $0 + ($1.alive ?? 0) }
        let loadgenRSS = stats.reduce(0) { $0 + ($1.rssBytes ?? 0) }
        await workers.close()
        try await Task.sleep(for: .seconds(2))
        let afterClose = gatewayRSS()

        let merged = FleetSummary(reports)
        result.idle = IdleMetrics(
            connections: fleet.connections, opened: merged.opened, alive: alive, failed: merged.failed, failures: merged.failures,
            workers: workers.workers.count, gateways: options.gateways.count, connectSeconds: rounded(merged.seconds, 2),
            connectLatency: merged.latency, gatewayRSSBefore: before, gatewayRSSAfter: after, gatewayRSSAfterClose: afterClose,
            gatewayBytesPerConnection: alive > 0 ? (after - before) / alive : 0,
            loadgenBytesPerConnection: alive > 0 ? loadgenRSS / alive : 0)
        if merged.failed > 0 || alive < fleet.connections {
            result.status = "failed"
            result.notes.append("\(merged.failed) connections failed (\(merged.failures)); \(alive) alive at measurement")
        }
        progress.emit(force: true) { "idle: \(alive) connections, gateway RSS +\((after - before) / 1024) KiB = \(result.idle!.gatewayBytesPerConnection) bytes per connection" }
        try result.write(to: options.output)
    }
}

/// Memory of idle connections.
struct IdleMetrics: Codable, Sendable {
    var connections: Int
    var opened: Int
    var alive: Int
    var failed: Int
    var failures: [String: Int]
    var workers: Int
    var gateways: Int
    var connectSeconds: Double
    var connectLatency: LatencySummary
    /// Sum of the gateways' resident set sizes (bytes) before connecting, once connected, and 2 s after closing.
    var gatewayRSSBefore: Int
    var gatewayRSSAfter: Int
    var gatewayRSSAfterClose: Int
    var gatewayBytesPerConnection: Int
    /// The load generator's own memory per connection (all worker processes).
    var loadgenBytesPerConnection: Int
}

/// The workers' `connected` reports added up.
struct FleetSummary {
    var opened = 0
    var failed = 0
    var failures: [String: Int] = [:]
    var seconds = 0.0
    var latency: LatencySummary

    init(_ reports: [WorkerEvent]) {
        let recorder = LatencyRecorder()
        for report in reports {
            opened += report.opened
            failed += report.failed
            for (kind, count) in report.failures ?? [:] { failures[kind, default: 0] += count }
            seconds = max(seconds, report.seconds ?? 0)
            if let histogram = report.connectLatency { recorder.add(histogram) }
        }
        latency = recorder.summary
    }
}
