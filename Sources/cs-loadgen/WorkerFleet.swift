import Foundation
import Synchronization

/// The parent's side of `hold` workers: starts them, gathers their events, sends them commands.
final class WorkerFleet: Sendable {
    /// One started worker.
    final class Worker: Sendable {
        let process: Process
        let input: FileHandle
        let events: AsyncStream<WorkerEvent>
        let connections: Int

        init(process: Process, input: FileHandle, events: AsyncStream<WorkerEvent>, connections: Int) {
            self.process = process
            self.input = input
            self.events = events
            self.connections = connections
        }
    }

    /// What the workers reported so far.
    struct State: Sendable {
        var progress: [Int: (opened: Int, failed: Int)] = [:]
        var connected: [Int: WorkerEvent] = [:]
        var broadcasts: [String: [Int: WorkerEvent]] = [:]
        var stats: [Int: WorkerEvent] = [:]
        var exited: Set<Int> = []
    }

    let workers: [Worker]
    let state = Mutex(State())

    /// Splits `total` connections over workers of at most `perProcess` connections each; each
    /// worker starts `burst / workers` connections at a time, so together about `burst` are in flight.
    init(total: Int, perProcess: Int, burst: Int, options: LoadgenOptions) throws {
        let count = max(1, (total + perProcess - 1) / perProcess)
        // No more event loops over all workers than the machine has cores (at least one each):
        // more would only add thread wake-ups, and the load generator shares the machine with
        // the system it measures.
        let threads = max(1, min(options.threads, ProcessInfo.processInfo.activeProcessorCount / count))
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var started: [Worker] = []
        var first = 0
        for index in 0..<count {
            let connections = total / count + (index < total % count ? 1 : 0)
            var arguments = ["hold", "--connections", "\(connections)", "--first-index", "\(first)",
                             "--burst", "\(max(1, burst / count))", "--source-offset", "\(index * options.sourceAddresses)",
                             "--source-addresses", "\(options.sourceAddresses)", "--threads", "\(threads)",
                             "--redis-url", options.redisURL]
            for gateway in options.gateways { arguments += ["--gateway", gateway] }
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            var environment = ProcessInfo.processInfo.environment
            environment["CS_JWT_SECRET"] = options.jwtSecret  // not on the command line, where ps shows it
            process.environment = environment
            let stdin = Pipe(), stdout = Pipe()
            process.standardInput = stdin
            process.standardOutput = stdout
            process.standardError = FileHandle.standardError
            try process.run()
            let lines = JSONLines.lines(from: stdout.fileHandleForReading)
            let events = AsyncStream<WorkerEvent> { continuation in
                Task {
                    for await line in lines {
                        if let event = try? JSONDecoder().decode(WorkerEvent.self, from: line) { continuation.yield(event) }
                    }
                    continuation.finish()
                }
            }
            started.append(Worker(process: process, input: stdin.fileHandleForWriting, events: events, connections: connections))
            first += connections
        }
        workers = started
        for (index, worker) in started.enumerated() {
            Task { [self] in
                for await event in worker.events { self.state.withLock { Self.apply(event, from: index, to: &$0) } }
                _ = self.state.withLock { $0.exited.insert(index) }
            }
        }
    }

    private static func apply(_ event: WorkerEvent, from index: Int, to state: inout State) {
        switch event.event {
        case .progress: state.progress[index] = (event.opened, event.failed)
        case .connected:
            state.progress[index] = (event.opened, event.failed)
            state.connected[index] = event
        case .broadcast: if let id = event.id { state.broadcasts[id, default: [:]][index] = event }
        case .stats: state.stats[index] = event
        case .closed: break
        }
    }

    /// Connections opened and failed so far, over all workers.
    var progress: (opened: Int, failed: Int) {
        state.withLock { state in state.progress.values.reduce((0, 0)) { ($0.0 + $1.opened, $0.1 + $1.failed) } }
    }

    /// Waits until every worker reported `connected` (or exited); returns their reports.
    func waitConnected(progress line: inout ProgressLine, label: String, total: Int) async -> [WorkerEvent] {
        while true {
            let (done, events) = state.withLock { state in
                (state.connected.count + state.exited.subtracting(state.connected.keys).count >= workers.count,
                 Array(state.connected.values))
            }
            if done { return events }
            let (opened, failed) = progress
            line.emit { "\(label): opened \(opened) of \(total), failed \(failed) (\(workers.count) worker processes)" }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits until `expected` receipts of broadcast `id` were reported, or `timeout` passed
    /// (then asks every worker for its partial count). Returns the workers' reports.
    func waitBroadcast(_ id: String, expected: Int, timeout: Double) async -> [WorkerEvent] {
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        func received() -> [WorkerEvent] { state.withLock { Array(($0.broadcasts[id] ?? [:]).values) } }
        while MonotonicClock.now() < deadline {
            if received().reduce(0, { $0 + ($1.count ?? 0) }) >= expected { return received() }
            try? await Task.sleep(for: .milliseconds(2))
        }
        send(WorkerCommand(cmd: .collect, id: id))
        let answerDeadline = MonotonicClock.now() + 5_000_000_000
        while received().count < workers.count, MonotonicClock.now() < answerDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return received()
    }

    /// Asks every worker for its live connection count, memory and CPU.
    func collectStats() async -> [WorkerEvent] {
        state.withLock { $0.stats = [:] }
        send(WorkerCommand(cmd: .stats))
        let deadline = MonotonicClock.now() + 5_000_000_000
        while state.withLock({ $0.stats.count }) < workers.count, MonotonicClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return state.withLock { Array($0.stats.values) }
    }

    var pids: [Int32] { workers.map(\.process.processIdentifier) }

    func send(_ command: WorkerCommand, to index: Int? = nil) {
        guard var data = try? JSONEncoder().encode(command) else { return }
        data.append(0x0A)
        for (position, worker) in workers.enumerated() where index == nil || index == position {
            try? worker.input.write(contentsOf: data)
        }
    }

    /// Asks every worker to close its connections and waits (bounded) for them to exit.
    func close() async {
        send(WorkerCommand(cmd: .close))
        let deadline = MonotonicClock.now() + 30_000_000_000
        while workers.contains(where: \.process.isRunning), MonotonicClock.now() < deadline {
            try? await Task.sleep(for: .milliseconds(100))
        }
        for worker in workers where worker.process.isRunning { worker.process.terminate() }
    }
}
