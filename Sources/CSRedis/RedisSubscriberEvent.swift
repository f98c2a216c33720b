import NIOCore

/// What a ``RedisSubscriber`` reports on its ``RedisSubscriber/events`` stream.
public enum RedisSubscriberEvent: Sendable, Hashable {
    /// A message published to a channel subscribed with ``RedisSubscriber/subscribe(_:)``.
    case message(channel: String, payload: ByteBuffer)
    /// A message published to a channel matching a pattern from ``RedisSubscriber/psubscribe(_:)``.
    case pmessage(pattern: String, channel: String, payload: ByteBuffer)
    /// The connection is up and every recorded subscription is confirmed by Redis.
    /// `isReconnect == true` means an earlier connection was lost: messages published while
    /// disconnected were missed, so consumers should resynchronise.
    case connected(isReconnect: Bool)
    /// The connection was lost; the subscriber is reconnecting (and will resubscribe).
    case disconnected
}
