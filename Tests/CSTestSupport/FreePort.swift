#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Free TCP ports on the loopback interface, for servers started by tests.
public enum FreePort {
    /// A port that was free a moment ago on 127.0.0.1 (the kernel picks it from the ephemeral range,
    /// so it is never a well-known port like 6379). Another process may grab it before you bind,
    /// so callers should retry with a new port if binding fails.
    public static func next() throws -> Int {
        #if canImport(Darwin)
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #else
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard fd >= 0 else { throw FreePortError(reason: "socket() failed, errno \(errno)") }
        defer { close(fd) }

        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw FreePortError(reason: "bind() failed, errno \(errno)") }

        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw FreePortError(reason: "getsockname() failed, errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Finding a free port failed.
public struct FreePortError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "FreePortError: \(self.reason)" }
}
