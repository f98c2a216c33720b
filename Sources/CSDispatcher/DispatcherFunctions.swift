import CSRedis
import CSServer

/// The Redis functions a dispatcher calls: its own library and the shared ones it uses. The
/// dispatcher's ACL user may `FCALL` exactly these (deploy/redis/users.acl.template).
public enum DispatcherFunctions {
    /// Functions only dispatchers call.
    public static let library = RedisFunctionLibrary(name: "cs_dispatcher", functions: [
        DeadLetters.moveScript, PartitionWorker.raiseReadPosition, ConversationStore.deleteIfEquals,
    ])
    /// Every library a dispatcher registers and installs at start.
    public static let libraries = [
        ServerFunctionLibraries.routing, ServerFunctionLibraries.conversation, ServerFunctionLibraries.ratings, library,
    ]
}
