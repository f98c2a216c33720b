import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `cs-loadgen hold`: a worker process that opens customer connections, reports on standard
/// output (JSON lines, `WorkerEvent`) and obeys commands on standard input (`WorkerCommand`)
/// until `close` or end of input. `idle`, `storm` and `broadcast` start one per few thousand
/// connections, because one process cannot hold more sockets than its open-file limit.
struct HoldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Worker: hold customer connections (started by idle, storm and broadcast).",
        shouldDisplay: false)

    @OptionGroup var options: LoadgenOptions

    @Option(help: "Connections to open.")
    var connections: Int

    @Option(name: .customLong("first-index"), help: "Index of the first connection (spreads connections over gateways).")
    var firstIndex: Int = 0

    @Option(help: "Connections started at once; each wave settles before the next.")
    var burst: Int = 500

    @Option(name: .customLong("source-offset"), help: "Start of this worker's source addresses (127.0.0.(2+offset)).")
    var sourceOffset: Int = 0

    func run() async throws {
        SystemLimits.raiseOpenFileLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let connector = WebSocketConnector(
            group: group, sources: try SourceAddressPool(count: options.sourceAddresses, offset: sourceOffset))
        let opener = ConnectionOpener(connector: connector, gateways: try options.gatewayAddresses())
        let minter = try await TokenMinter(secret: options.jwtSecret)
        let receipts = BroadcastReceipts()
        let report = await opener.open(
            firstIndex..<(firstIndex + connections), burst: burst,
            token: { index in try await minter.customer(name: "Idle \(index)").token },
            delegate: { _, eventLoop in HoldDelegate(eventLoop: eventLoop, receipts: receipts) },
            progress: { opened, failed in
                var event = WorkerEvent(event: .progress)
                event.opened = opened
                event.failed = failed
                JSONLines.emit(event)
            })
        receipts.expect(report.connections.count)
        var connected = WorkerEvent(event: .connected)
        connected.opened = report.connections.count
        connected.failed = report.failed
        connected.failures = report.failures
        connected.seconds = rounded(report.seconds, 3)
        connected.connectLatency = report.connectLatency.snapshot
        connected.rssBytes = ProcessSampler.residentBytes(pid: getpid())
        JSONLines.emit(connected)

        for await line in JSONLines.lines(from: FileHandle.standardInput) {
            guard let command = try? JSONDecoder().decode(WorkerCommand.self, from: line) else { continue }
            switch command.cmd {
            case .stats:
                var event = WorkerEvent(event: .stats)
                event.alive = receipts.alive
                event.rssBytes = ProcessSampler.residentBytes(pid: getpid())
                event.cpuSeconds = ProcessSampler.ownCPUSeconds()
                JSONLines.emit(event)
            case .collect:
                JSONLines.emit(receipts.event(for: command.id ?? ""))
            case .close:
                break
            }
            if command.cmd == .close { break }
        }
        for connection in report.connections { connection.channel.close(promise: nil) }
        try? await Task.sleep(for: .milliseconds(100))
        try? await group.shutdownGracefully()
        JSONLines.emit(WorkerEvent(event: .closed))
    }
}
