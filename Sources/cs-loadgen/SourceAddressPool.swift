import NIOCore
import Synchronization

/// Loopback source addresses for client sockets, handed out round-robin.
///
/// One source address gives about 28,000 ephemeral ports towards one gateway port; spreading
/// sockets over 127.0.0.2, 127.0.0.3, ... lifts that limit (all of 127.0.0.0/8 is local on Linux).
final class SourceAddressPool: Sendable {
    let addresses: [SocketAddress]
    private let next = Atomic<Int>(0)

    /// `count` addresses starting at 127.0.0.(2 + offset).
    init(count: Int, offset: Int = 0) throws {
        addresses = try (0..<count).map { index in
            try SocketAddress(ipAddress: "127.0.0.\(2 + (offset + index) % 250)", port: 0)
        }
    }

    /// The next address (port 0: the kernel picks an ephemeral port on it).
    func take() -> SocketAddress {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return addresses[index % addresses.count]
    }
}
