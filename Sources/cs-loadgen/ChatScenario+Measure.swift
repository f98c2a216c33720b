import NIOCore

extension ChatScenario {
    private struct Snapshot {
        var sent = 0, acked = 0, echoed = 0, delivered = 0
        init(_ counters: ChatCounters) {
            sent = counters.sent.load(ordering: .relaxed)
            acked = counters.acked.load(ordering: .relaxed)
            echoed = counters.echoed.load(ordering: .relaxed)
            delivered = counters.delivered.load(ordering: .relaxed)
        }
    }

    /// Starts the customers, warms up, measures for `--duration`, stops and drains.
    func measure(into result: inout ScenarioResult, setupSeconds: Double) async throws {
        let all = Array(customers.all.values)
        let pairs = command.pairs
        counters.sending.store(true, ordering: .relaxed)
        if command.rate > 0 {
            let interval = UInt64(Double(pairs) / command.rate * 1e9)
            for customer in all { customer.startRate(interval: interval, phase: UInt64.random(in: 0..<max(interval, 1))) }
        } else {
            for customer in all { customer.startMax(window: command.window) }
        }
        let mode = command.rate > 0 ? "rate \(Int(command.rate))/s" : "max (window \(command.window))"
        var progress = ProgressLine(interval: command.options.progressInterval)
        try await runPhase("warmup", seconds: command.warmup, mode: mode, progress: &progress)

        counters.latency.reset()
        counters.ackLatency.reset()
        let before = Snapshot(counters)
        let redisBefore = try? await RedisCommandStats.read(redis)
        var cpu = CPUWindow(processes: try command.options.watchedProcesses())
        cpu.start()
        let started = MonotonicClock.now()
        try await runPhase("measure", seconds: command.duration, mode: mode, progress: &progress)
        let after = Snapshot(counters)
        let seconds = Double(MonotonicClock.now() - started) / 1e9
        let latency = counters.latency.summary
        let ackLatency = counters.ackLatency.summary
        result.cpu = cpu.stop()
        let redisAfter = try? await RedisCommandStats.read(redis)

        counters.sending.store(false, ordering: .relaxed)
        for customer in all { customer.stop() }
        let drainDeadline = MonotonicClock.now() + 15_000_000_000
        while MonotonicClock.now() < drainDeadline {
            let now = Snapshot(counters)
            if now.delivered >= now.sent && now.echoed >= now.sent { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let drained = Snapshot(counters)

        var redisReport: RedisCommandsReport?
        if let redisBefore, let redisAfter {
            redisReport = RedisCommandsReport(
                delta: redisAfter.since(redisBefore), messages: after.delivered - before.delivered)
        }
        let delivered = after.delivered - before.delivered
        result.chat = ChatMetrics(
            mode: command.rate > 0 ? "rate" : "max", pairs: pairs, gateways: command.options.gateways.count,
            targetRate: command.rate > 0 ? command.rate : nil, window: command.rate > 0 ? nil : command.window,
            setupSeconds: rounded(setupSeconds, 2), measuredSeconds: rounded(seconds, 2),
            sent: after.sent - before.sent, acked: after.acked - before.acked, delivered: delivered,
            throughput: rounded(Double(delivered) / seconds), sendRate: rounded(Double(after.sent - before.sent) / seconds),
            latency: latency, ackLatency: ackLatency,
            errors: counters.errors.load(ordering: .relaxed), errorCodes: counters.errorCodes.withLock { $0 },
            disconnects: counters.disconnects.load(ordering: .relaxed), skippedSends: counters.skippedSends.load(ordering: .relaxed),
            undelivered: max(drained.sent - drained.delivered, 0), redis: redisReport)
        if let cpu = result.cpu, delivered > 0 {
            result.chat!.cpuMicrosPerMessage = cpu.cpuSecondsByProcess.mapValues { rounded($0 * 1e6 / Double(delivered)) }
            result.chat!.contextSwitchesPerMessage = cpu.voluntaryContextSwitches.mapValues { rounded(Double($0) / Double(delivered), 2) }
        }
        if drained.sent != drained.delivered {
            result.notes.append("\(drained.sent - drained.delivered) messages sent but not delivered to the agent within 15 s after the run")
        }
        if result.chat!.errors > 0 || result.chat!.disconnects > 0 { result.status = "failed" }
        progress.emit(force: true) {
            "chat \(mode): done: \(rounded(Double(delivered) / seconds)) msg/s, p50 \(latency.p50) µs, p99 \(latency.p99) µs, loadgen \(result.cpu?.coresByProcess["cs-loadgen"] ?? 0) cores"
        }
    }

    private func runPhase(_ name: String, seconds: Double, mode: String, progress: inout ProgressLine) async throws {
        let start = MonotonicClock.now()
        let end = start + UInt64(seconds * 1e9)
        var last = Snapshot(counters)
        var lastTime = start
        let step = min(max(command.options.progressInterval, 0.1), 1)
        while MonotonicClock.now() < end {
            let remaining = Double(end - MonotonicClock.now()) / 1e9
            try await Task.sleep(for: .milliseconds(Int(min(step, remaining) * 1000) + 1))
            if counters.disconnects.load(ordering: .relaxed) > 0 { throw SetupError(description: "connections were closed during the run") }
            let now = MonotonicClock.now()
            let current = Snapshot(counters)
            progress.emit {
                let rate = Double(current.delivered - last.delivered) / (Double(now - lastTime) / 1e9)
                last = current
                lastTime = now
                let latency = counters.latency.summary
                return "chat \(mode): \(name) \(rounded(Double(now - start) / 1e9))/\(seconds)s sent \(current.sent) delivered \(current.delivered) (\(Int(rate))/s) in flight \(current.sent - current.delivered) p50 \(latency.p50) µs p99 \(latency.p99) µs cpu \(rounded(ProcessSampler.ownCPUSeconds(), 1)) s"
            }
        }
    }
}
