import CSCore
import CSRedis
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
    let logger: Logger

    public init(subscriber: RedisSubscriber, registry: ConnectionRegistry, gatewayID: String, logger: Logger) {
        self.subscriber = subscriber
        self.registry = registry
        self.gatewayID = gatewayID
        self.logger = logger
    }

    public func run() async throws {
        let userPrefix = RedisKeys.userChannel("")
        let gatewayChannel = RedisKeys.gatewayChannel(gatewayID)
        // Messages are delivered right on the pub/sub connection's event loop, without a task hop
        // per message; `events` then carries only connection changes.
        let registry = self.registry
        subscriber.onMessage { channel, payload in
            Self.deliver(channel, payload, userPrefix: userPrefix, gatewayChannel: gatewayChannel, registry: registry)
        }
        try await subscriber.subscribe([gatewayChannel])
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await subscriber.run() }
            for await event in subscriber.events.cancelOnGracefulShutdown() {
                switch event {
                case .message(let channel, let payload):
                    Self.deliver(channel, payload, userPrefix: userPrefix, gatewayChannel: gatewayChannel, registry: registry)
                case .pmessage:
                    break
                case .connected(let isReconnect):
                    if isReconnect { logger.warning("pub/sub reconnected; deliveries published meanwhile were missed") }
                case .disconnected:
                    logger.warning("pub/sub connection lost; reconnecting")
                }
            }
            // Shutting down: clients are told to reconnect elsewhere (close 1001).
            registry.endAll()
            group.cancelAll()
        }
    }

    private static func deliver(
        _ channel: String, _ payload: ByteBuffer, userPrefix: String, gatewayChannel: String, registry: ConnectionRegistry
    ) {
        if channel.hasPrefix(userPrefix) {
            registry.deliver(toUser: String(channel.dropFirst(userPrefix.count)), payload)
        } else if channel == gatewayChannel {
            deliverToConnection(payload, registry: registry)
        }
    }

    private static func deliverToConnection(_ payload: ByteBuffer, registry: ConnectionRegistry) {
        var payload = payload
        guard let space = payload.readableBytesView.firstIndex(of: UInt8(ascii: " ")),
            let connectionID = payload.readString(length: space - payload.readerIndex)
        else { return }
        payload.moveReaderIndex(forwardBy: 1)
        registry.deliver(toConnection: connectionID, payload)
    }
}
