import CSCore
import CSRedis
import CSServer
import Logging
import NIOCore
import ServiceLifecycle

/// Runs the gateway's pub/sub connection and writes what arrives to local connections.
///
/// `cs:u:<user>` carries frames for every connection of a user; `cs:g:<gateway>` carries
/// `<connectionId> <frame>` for one connection (errors found by the dispatcher).
struct DeliveryService: Service {
    let subscriber: RedisSubscriber
    /// The subscriber connection's loop. The event stream is consumed there, so a published frame
    /// goes from the socket read to the connections' outboxes on one thread (before: a wake of a
    /// cooperative pool thread per frame, on both gateways of every chat message).
    let executor: EventLoopTaskExecutor
    let registry: ConnectionRegistry
    let gatewayID: String
    let notifications: NotificationService
    let views: ConversationViews
    let logger: Logger

    init(
        subscriber: RedisSubscriber, executor: EventLoopTaskExecutor, registry: ConnectionRegistry, gatewayID: String,
        notifications: NotificationService, views: ConversationViews, logger: Logger
    ) {
        self.subscriber = subscriber
        self.executor = executor
        self.views = views
        self.notifications = notifications
        self.registry = registry
        self.gatewayID = gatewayID
        self.logger = logger
    }

    public func run() async throws {
        try await withTaskExecutorPreference(executor) { try await deliver() }
    }

    private func deliver() async throws {
        let userPrefix = RedisKeys.userChannel("")
        let gatewayChannel = RedisKeys.gatewayChannel(gatewayID)
        try await subscriber.subscribe([gatewayChannel, RedisKeys.broadcastChannel])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await subscriber.run() }
            for await event in subscriber.events.cancelOnGracefulShutdown() {
                switch event {
                case .message(let channel, let payload):
                    if channel.hasPrefix(userPrefix) {
                        registry.deliver(toUser: String(channel.dropFirst(userPrefix.count)), payload)
                    } else if channel == gatewayChannel {
                        deliverToConnection(payload)
                    } else if channel == RedisKeys.broadcastChannel, let (id, tally) = deliverBroadcast(payload) {
                        // Deliveries go on while the event loops write it; the receipts follow.
                        group.addTask { await recordReceipts(of: id, tally) }
                    }
                case .pmessage:
                    break
                case .connected(let isReconnect):
                    if isReconnect { await recover() }
                case .disconnected:
                    // Entries published while we are away are lost to pub/sub: hold live ones back
                    // until the missed ones are replayed from the logs.
                    logger.warning("pub/sub connection lost; reconnecting")
                    for connection in registry.all { connection.beginRecovery() }
                }
            }
            // Shutting down: clients are told to reconnect elsewhere (close 1001).
            registry.endAll()
            group.cancelAll()
        }
    }

    /// After a pub/sub outage: every connection gets, from the conversation logs, what was
    /// committed after the last entry it received, then the live entries held meanwhile.
    private func recover() async {
        let connections = registry.all
        var from: [String: Int] = [:]
        for connection in connections {
            for (conversation, mark) in connection.deliveredPositions { from[conversation] = min(from[conversation] ?? mark, mark) }
        }
        var missed: [String: [(seq: Int, frame: String)]] = [:]
        do {
            for (conversation, after) in from {
                var entries: [(seq: Int, frame: String)] = []
                var cursor = after
                while true {
                    let page = try await views.entries(of: conversation, after: cursor, limit: 500)
                    entries += page
                    guard page.count == 500, let last = page.last else { break }
                    cursor = last.seq
                }
                missed[conversation] = entries
            }
        } catch {
            logger.error("recovery after pub/sub outage failed; clients may miss entries until they resume", metadata: ["error": "\(error)"])
        }
        for connection in connections {
            for (conversation, mark) in connection.deliveredPositions {
                for entry in missed[conversation] ?? [] where entry.seq > mark {
                    connection.sendReplayed(ByteBuffer(string: entry.frame), conversationID: conversation, seq: entry.seq)
                }
            }
            connection.endRecovery()
        }
        logger.notice("pub/sub reconnected; missed entries replayed", metadata: ["conversations": "\(from.count)", "connections": "\(connections.count)"])
    }

    /// `<selector> <notificationId> <frame>`: one publish, matched against local connections here.
    private func deliverBroadcast(_ payload: ByteBuffer) -> (id: String, tally: BroadcastTally)? {
        var payload = payload
        guard let selectorEnd = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let selector = payload.readString(length: selectorEnd - payload.readerIndex)
        else { return nil }
        payload.moveReaderIndex(forwardBy: 1)
        guard let idEnd = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let id = payload.readString(length: idEnd - payload.readerIndex)
        else { return nil }
        payload.moveReaderIndex(forwardBy: 1)
        return (id, registry.deliverNotification(selector: selector, id: id, payload))
    }

    /// Notes who got a broadcast (`delivered` receipts), once its writes are done.
    private func recordReceipts(of id: String, _ tally: BroadcastTally) async {
        let reached = await tally.reachedUsers()
        do {
            try await notifications.recordDelivered(notificationID: id, userIDs: reached)
        } catch {
            logger.warning("delivery receipts not recorded", metadata: ["notification": "\(id)", "error": "\(error)"])
        }
    }

    private func deliverToConnection(_ payload: ByteBuffer) {
        var payload = payload
        guard let space = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let connectionID = payload.readString(length: space - payload.readerIndex)
        else { return }
        payload.moveReaderIndex(forwardBy: 1)
        registry.deliver(toConnection: connectionID, payload)
    }
}
