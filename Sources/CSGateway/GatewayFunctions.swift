import CSRedis
import CSServer

/// The Redis functions a gateway calls: its own library and the shared ones it uses. The
/// gateway's ACL user may `FCALL` exactly these (deploy/redis/users.acl.template).
public enum GatewayFunctions {
    /// Functions only gateways call.
    public static let library = RedisFunctionLibrary(name: "cs_gateway", functions: [InboundPublisher.acceptOnce])
    /// Every library a gateway registers and installs at start.
    public static let libraries = [ServerFunctionLibraries.routing, ServerFunctionLibraries.notifications, library]
}
