import CSRedis
import CSServer

/// The Redis functions a gateway calls: its own library and the shared ones it uses. The
/// gateway's ACL user may `FCALL` exactly these (deploy/redis/users.acl.template).
public enum GatewayFunctions {
    /// Every library a gateway registers and installs at start. None is the gateway's own: its
    /// one function (`cs_accept_once`, the acceptance check of retried message ids) went with
    /// issue 17; a `cs_gateway` library left in Redis by an earlier version is harmless.
    public static let libraries = [ServerFunctionLibraries.routing, ServerFunctionLibraries.notifications]
}
