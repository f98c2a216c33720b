import CSCore
import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `WebhookURLPolicy` with name resolution: the URL's form, then every address its host resolves
/// to. Used at registration (gateway, `cs-admin`) and before every delivery (`cs-webhooks`).
public enum WebhookTargetCheck {
    /// The accepted target and the addresses checked (the literal itself, or what the name resolved to).
    public static func check(_ url: String, policy: WebhookURLPolicy) async -> Result<(WebhookURLPolicy.Target, [IPAddress]), WebhookURLPolicy.Refusal> {
        let target: WebhookURLPolicy.Target
        switch policy.check(url) {
        case .failure(let refusal): return .failure(refusal)
        case .success(let accepted): target = accepted
        }
        if let address = target.address { return .success((target, [address])) }
        let addresses = await resolve(host: target.host)
        if let refusal = policy.check(resolved: addresses) { return .failure(refusal) }
        return .success((target, addresses))
    }

    /// Every address `host` resolves to (getaddrinfo, on NIO's thread pool: it blocks); empty
    /// when it does not resolve.
    public static func resolve(host: String) async -> [IPAddress] {
        (try? await NIOThreadPool.singleton.runIfActive { resolveBlocking(host: host) }) ?? []
    }

    static func resolveBlocking(host: String) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            if let sockaddr = info.pointee.ai_addr {
                switch info.pointee.ai_family {
                case AF_INET:
                    sockaddr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                        var address = v4.pointee.sin_addr
                        _ = inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
                    }
                case AF_INET6:
                    sockaddr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                        var address = v6.pointee.sin6_addr
                        _ = inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                    }
                default: break
                }
            }
            let text = String(cString: buffer)
            if let address = IPAddress(text), !addresses.contains(address) { addresses.append(address) }
            cursor = info.pointee.ai_next
        }
        return addresses
    }
}
