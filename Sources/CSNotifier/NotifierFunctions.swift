import CSRedis
import CSServer

/// The Redis functions a notifier calls: its own library and the shared ones it uses. The
/// notifier's ACL user may `FCALL` exactly these (deploy/redis/users.acl.template).
public enum NotifierFunctions {
    /// Functions only notifiers call.
    public static let library = RedisFunctionLibrary(name: "cs_notifier", functions: [NotificationScheduler.moveDue])
    /// Every library a notifier registers and installs at start.
    public static let libraries = [library]
}
