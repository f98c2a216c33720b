import NIOCore
import NIOPosix

/// TCP connection setup shared by ``RedisClient`` and ``RedisSubscriber``.
enum RedisBootstrap {
    /// Opens a TCP connection (keep-alive, no Nagle) within `connectTimeout`, installing handlers with `initialize`.
    /// - Throws: ``RedisError/Code/connectTimeout`` or ``RedisError/Code/connectionFailed``.
    static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        initialize: @escaping @Sendable (any Channel) throws -> Void
    ) async throws -> any Channel {
        let address = "\(configuration.host):\(configuration.port)"
        do {
            return try await ClientBootstrap(group: eventLoop)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try initialize(channel) }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch let error as ChannelError {
            if case .connectTimeout = error {
                throw RedisError(code: .connectTimeout, message: "connecting to Redis at \(address) timed out after \(configuration.connectTimeout)")
            }
            throw RedisError(code: .connectionFailed, message: "cannot connect to Redis at \(address): \(error)")
        } catch {
            throw RedisError(code: .connectionFailed, message: "cannot connect to Redis at \(address): \(error)")
        }
    }
}
