import CSCore
import CSRedis
import CSServer
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Runs `cs-loadgen chat`: setup here, measurement in `ChatScenario+Measure.swift`.
struct ChatScenario {
    let command: ChatCommand
    let group: MultiThreadedEventLoopGroup
    let opener: ConnectionOpener
    let redis: RedisClient
    let minter: TokenMinter
    let counters = ChatCounters()
    let runID = Identifier.random(8)
    let customers = CustomerTable()
    var skill: String { "lg" + runID }

    init(command: ChatCommand) async throws {
        self.command = command
        let options = command.options
        group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let connector = WebSocketConnector(group: group, sources: try SourceAddressPool(count: options.sourceAddresses))
        opener = ConnectionOpener(connector: connector, gateways: try options.gatewayAddresses())
        redis = RedisClient(configuration: try options.redisConfiguration(), logger: Logger(label: "cs-loadgen"))
        minter = try await TokenMinter(secret: options.jwtSecret)
    }

    func agentID(_ index: Int) -> String { "lg\(runID)-a\(index)" }

    func run() async -> ScenarioResult {
        var result = ScenarioResult(scenario: "chat")
        result.parameters = [
            "pairs": "\(command.pairs)", "rate": "\(command.rate)", "window": "\(command.window)",
            "warmupSeconds": "\(command.warmup)", "durationSeconds": "\(command.duration)", "bodyBytes": "\(command.bodyBytes)",
            "gateways": command.options.gateways.joined(separator: ","), "threads": "\(command.options.threads)",
        ]
        var connections: [LoadConnection] = []
        do {
            let setupStart = MonotonicClock.now()
            connections = try await setUp()
            let setupSeconds = Double(MonotonicClock.now() - setupStart) / 1e9
            try await measure(into: &result, setupSeconds: setupSeconds)
        } catch {
            result.status = "failed"
            result.notes.append("\(error)")
            logLine("chat failed: \(error)")
        }
        for connection in connections { connection.close() }
        try? await Task.sleep(for: .milliseconds(200))
        await redis.close()
        try? await group.shutdownGracefully()
        return result
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Agents (accounts, then connections), customers, and one open conversation per pair.
    private func setUp() async throws -> [LoadConnection] {
        let pairs = command.pairs
        let hash = try await PasswordHasher().hash("cs-loadgen-" + runID)
        let directory = AgentDirectory(redis: redis)
        for index in 0..<pairs {
            try await directory.save(AgentRecord(
                id: agentID(index), name: "Agent \(index)", role: .agent, skills: [skill], maxConversations: 1, passwordHash: hash))
        }
        let counters = self.counters
        let minter = self.minter
        let runID = self.runID
        let agents = await opener.open(
            0..<pairs, burst: 500, gatewayOffset: 1,
            token: { index in try await minter.agent(id: "lg\(runID)-a\(index)", name: "Agent \(index)") },
            delegate: { _, eventLoop in ChatAgent(eventLoop: eventLoop, counters: counters) })
        guard agents.failed == 0 else { throw SetupError(description: "agent connections failed: \(agents.failures)") }
        let body = Self.bodyJSON(bytes: command.bodyBytes)
        let customers = self.customers
        let opened = await opener.open(
            0..<pairs, burst: 500,
            token: { index in try await minter.customer(name: "Customer \(index)").token },
            delegate: { index, eventLoop in
                let customer = ChatCustomer(eventLoop: eventLoop, counters: counters, bodyJSON: body)
                customers.set(index, customer)
                return customer
            })
        guard opened.failed == 0 else { throw SetupError(description: "customer connections failed: \(opened.failures)") }
        let byIndex = customers.all
        for connection in opened.connections { byIndex[connection.index]?.attach(connection) }
        for connection in opened.connections { byIndex[connection.index]?.sendOpening(skill: skill) }
        let deadline = MonotonicClock.now() + UInt64(30 + pairs / 50) * 1_000_000_000
        while counters.assignments.load(ordering: .relaxed) < pairs || counters.openingEchoes.load(ordering: .relaxed) < pairs {
            guard MonotonicClock.now() < deadline else {
                throw SetupError(description: "conversations not all assigned in time: \(counters.assignments.load(ordering: .relaxed)) of \(pairs) assigned, \(counters.openingEchoes.load(ordering: .relaxed)) opening messages committed")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        logLine("chat: \(pairs) pairs connected and assigned")
        return agents.connections + opened.connections
    }

    /// A JSON string body (without quotes) of exactly `bytes` ASCII bytes.
    static func bodyJSON(bytes: Int) -> String {
        let sentence = "Hello, my order has not arrived yet and I would like to know where it is. "
        var text = ""
        while text.utf8.count < bytes { text += sentence }
        return String(text.prefix(bytes))
    }
}

/// The customers of a run by connection index (filled while connecting).
final class CustomerTable: Sendable {
    private let table = Mutex<[Int: ChatCustomer]>([:])
    func set(_ index: Int, _ customer: ChatCustomer) { table.withLock { $0[index] = customer } }
    var all: [Int: ChatCustomer] { table.withLock { $0 } }
}
