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
public struct DeliveryService: Service {
    let subscriber: RedisSubscriber
    let registry: ConnectionRegistry
    let gatewayID: String
    let notifications: NotificationService
    let logger: Logger

    public init(subscriber: RedisSubscriber, registry: ConnectionRegistry, gatewayID: String, notifications: NotificationService, logger: Logger) {
        self.subscriber = subscriber
        self.notifications = notifications
        self.registry = registry
        self.gatewayID = gatewayID
        self.logger = logger
    }

    public func run() async throws {
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
                    } else if channel == RedisKeys.broadcastChannel {
                        await deliverBroadcast(payload)
                    }
                case .pmessage:
                    break
                case .connected(let isReconnect):
                    if isReconnect {
                        // Deliveries published while we were away are lost to pub/sub: clients resume from history.
                        logger.warning("pub/sub reconnected; asking clients to resync")
                        registry.deliverToAll(ByteBuffer(string: ServerFrame.resync))
                    }
                case .disconnected:
                    logger.warning("pub/sub connection lost; reconnecting")
                }
            }
            // Shutting down: clients are told to reconnect elsewhere (close 1001).
            registry.endAll()
            group.cancelAll()
        }
    }

    /// `<selector> <notificationId> <frame>`: one publish, matched against local connections here.
    private func deliverBroadcast(_ payload: ByteBuffer) async {
        var payload = payload
        guard let selectorEnd = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let selector = payload.readString(length: selectorEnd - payload.readerIndex)
        else { return }
        payload.moveReaderIndex(forwardBy: 1)
        guard let idEnd = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let id = payload.readString(length: idEnd - payload.readerIndex)
        else { return }
        payload.moveReaderIndex(forwardBy: 1)
        let reached = registry.deliverNotification(selector: selector, id: id, payload)
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
