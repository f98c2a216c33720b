import ArgumentParser
import CSCore
import CSRedis
import CSServer
import Foundation
import Logging

/// `cs-loadgen broadcast`: N connections, M broadcasts, latency until the last connection has each.
///
/// A broadcast is an announcement to everyone, created the way `POST /v1/notifications` creates
/// it (`NotificationService.create`: a request on `cs:{notify}:in`); cs-notifier stores it and
/// sends one PUBLISH that every gateway fans out to its connections. When nothing arrives within
/// --probe-timeout the result is `failed` (no notifier, or delivery broken), never a number.
struct BroadcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast",
        abstract: "Fan-out: time until the last of N connections received each of M broadcasts (through the notifier).")

    @OptionGroup var options: LoadgenOptions
    @OptionGroup var fleet: FleetOptions

    @Option(help: "Broadcasts to send (after one probe).")
    var broadcasts: Int = 10

    @Option(help: "Seconds between broadcasts.")
    var interval: Double = 0.5

    @Option(help: "Seconds to wait for every connection to receive one broadcast.")
    var timeout: Double = 5

    @Option(name: .customLong("probe-timeout"), help: "Seconds to wait for the probe broadcast before reporting `failed`.")
    var probeTimeout: Double = 3

    @Option(help: "Audience of the announcements: all, customers, agents (the load connections are customers).")
    var audience: String = "all"

    func run() async throws {
        SystemLimits.raiseOpenFileLimit()
        var result = ScenarioResult(scenario: "broadcast")
        result.parameters = ["connections": "\(fleet.connections)", "broadcasts": "\(broadcasts)", "gateways": options.gateways.joined(separator: ",")]
        let redis = RedisClient(configuration: try options.redisConfiguration(), logger: Logger(label: "cs-loadgen"))
        let notifications = NotificationService(redis: redis)
        let workers = try WorkerFleet(total: fleet.connections, perProcess: fleet.effectivePerProcess, burst: fleet.burst, options: options)
        var progress = ProgressLine(interval: options.progressInterval)
        let connected = FleetSummary(await workers.waitConnected(progress: &progress, label: "broadcast", total: fleet.connections))
        let runID = Identifier.random(6)
        var metrics = BroadcastMetrics(connections: fleet.connections, opened: connected.opened, gateways: options.gateways.count)
        do {
            let statsBefore = try await RedisCommandStats.read(redis)
            let probe = try await send(runID + "p0", notifications: notifications, workers: workers, expected: connected.opened, timeout: probeTimeout)
            if probe.received == 0 {
                result.status = "failed"
                result.notes.append(
                    "no connection received the probe announcement within \(probeTimeout) s: is cs-notifier running against this Redis?")
            } else {
                let latency = LatencyRecorder()
                for index in 1...max(broadcasts, 1) {
                    let outcome = try await send(runID + "b\(index)", notifications: notifications, workers: workers, expected: connected.opened, timeout: timeout)
                    metrics.sent += 1
                    if outcome.received >= connected.opened, let last = outcome.last {
                        metrics.complete += 1
                        latency.record(from: outcome.sentAt, to: last)
                    } else {
                        metrics.missingReceipts += connected.opened - outcome.received
                    }
                    progress.emit { "broadcast \(index)/\(broadcasts): \(outcome.received) of \(connected.opened) received" }
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                }
                metrics.latencyToLast = latency.summary
                let publishes = try await RedisCommandStats.read(redis).since(statsBefore).calls["publish"] ?? 0
                metrics.publishPerBroadcast = rounded(Double(publishes) / Double(metrics.sent + 1), 2)
                if metrics.complete < metrics.sent { result.status = "failed" }
            }
        } catch {
            result.status = "failed"
            result.notes.append("\(error)")
        }
        result.broadcast = metrics
        await workers.close()
        await redis.close()
        progress.emit(force: true) { "broadcast: \(result.status) \(result.notes.first ?? "")" }
        try result.write(to: options.output)
    }

    private func send(
        _ id: String, notifications: NotificationService, workers: WorkerFleet, expected: Int, timeout: Double
    ) async throws -> (sentAt: UInt64, received: Int, last: UInt64?) {
        let request = NotificationService.Request(audience: audience, title: "Load test", body: BroadcastMarker.text(id: id))
        let sentAt = MonotonicClock.now()
        _ = try await notifications.create(request, by: "cs-loadgen")
        let reports = await workers.waitBroadcast(id, expected: expected, timeout: timeout)
        return (sentAt, reports.reduce(0) { $0 + ($1.count ?? 0) }, reports.compactMap(\.last).max())
    }
}

/// Fan-out of broadcasts (latency: the request created → the last connection received it, µs).
struct BroadcastMetrics: Codable, Sendable {
    var connections: Int
    var opened: Int
    var gateways: Int
    var sent = 0
    var complete = 0
    var missingReceipts = 0
    var latencyToLast: LatencySummary?
    var publishPerBroadcast: Double?
}
