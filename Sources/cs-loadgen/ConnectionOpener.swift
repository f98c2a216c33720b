import Histogram
import NIOCore

/// Opens many connections in waves and waits for each one's `hello`.
struct ConnectionOpener: Sendable {
    let connector: WebSocketConnector
    let gateways: [GatewayAddress]
    var helloTimeout: TimeAmount = .seconds(30)

    /// What opening a set of connections gave.
    struct Report: Sendable {
        var connections: [LoadConnection] = []
        var failures: [String: Int] = [:]
        /// Time from starting the TCP connect to receiving `hello`.
        var connectLatency = LatencyRecorder()
        var seconds: Double = 0
        var failed: Int { failures.values.reduce(0, +) }
    }

    /// Opens connections `indices`, `burst` at a time: a wave is started at once and settled
    /// (every connection ready or failed) before the next one starts. Connection `i` goes to
    /// gateway `i % gateways.count` (plus `gatewayOffset`).
    func open(
        _ indices: Range<Int>, burst: Int, gatewayOffset: Int = 0,
        token: @escaping @Sendable (Int) async throws -> String,
        delegate: @escaping @Sendable (Int, any EventLoop) -> ClientDelegate,
        progress: (_ opened: Int, _ failed: Int) -> Void = { _, _ in }
    ) async -> Report {
        var report = Report()
        report.connections.reserveCapacity(indices.count)
        let started = MonotonicClock.now()
        let latency = report.connectLatency
        var waveStart = indices.lowerBound
        while waveStart < indices.upperBound {
            let wave = waveStart..<min(waveStart + max(burst, 1), indices.upperBound)
            let outcomes = await withTaskGroup(of: Result<LoadConnection, ClientDelegate.NotReady>.self) { group in
                for index in wave {
                    group.addTask { await openOne(index, gatewayOffset: gatewayOffset, token: token, delegate: delegate, latency: latency) }
                }
                var all: [Result<LoadConnection, ClientDelegate.NotReady>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            for outcome in outcomes {
                switch outcome {
                case .success(let connection): report.connections.append(connection)
                case .failure(let failure): report.failures[failure.kind, default: 0] += 1
                }
            }
            progress(report.connections.count, report.failed)
            waveStart = wave.upperBound
        }
        report.seconds = Double(MonotonicClock.now() - started) / 1e9
        return report
    }

    private func openOne(
        _ index: Int, gatewayOffset: Int, token: @Sendable (Int) async throws -> String,
        delegate makeDelegate: @Sendable (Int, any EventLoop) -> ClientDelegate, latency: LatencyRecorder
    ) async -> Result<LoadConnection, ClientDelegate.NotReady> {
        let tokenValue: String
        do {
            tokenValue = try await token(index)
        } catch {
            return .failure(.init(kind: "token_error"))
        }
        let eventLoop = connector.group.next()
        let delegate = makeDelegate(index, eventLoop)
        let gateway = gateways[(index + gatewayOffset) % gateways.count]
        let start = MonotonicClock.now()
        let timeout = eventLoop.scheduleTask(in: helloTimeout) { delegate.hello.fail(ClientDelegate.NotReady(kind: "hello_timeout")) }
        defer { timeout.cancel() }
        let connection: LoadConnection
        do {
            connection = try await connector.connect(to: gateway, token: tokenValue, index: index, on: eventLoop, delegate: delegate).get()
        } catch let failure as WebSocketConnector.Failure {
            delegate.hello.fail(ClientDelegate.NotReady(kind: failure.kind))
            return .failure(.init(kind: failure.kind))
        } catch {
            return .failure(.init(kind: "connect_error"))
        }
        do {
            let helloAt = try await delegate.hello.futureResult.get()
            latency.record(from: start, to: helloAt)
            return .success(connection)
        } catch let notReady as ClientDelegate.NotReady {
            connection.channel.close(promise: nil)
            return .failure(notReady)
        } catch {
            connection.channel.close(promise: nil)
            return .failure(.init(kind: "error"))
        }
    }
}
