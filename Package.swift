// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "customer-service",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cs-gateway", targets: ["cs-gateway"]),
        .executable(name: "cs-dispatcher", targets: ["cs-dispatcher"]),
        .executable(name: "cs-notifier", targets: ["cs-notifier"]),
        .executable(name: "cs-archiver", targets: ["cs-archiver"]),
        .executable(name: "cs-admin", targets: ["cs-admin"]),
        .executable(name: "cs-loadgen", targets: ["cs-loadgen"]),
        .executable(name: "cs-webhooks", targets: ["cs-webhooks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // libhiredis from Debian's libhiredis-dev; no pkgConfig (Debian's .pc adds a flag SwiftPM refuses).
        .systemLibrary(name: "CHiredis", path: "Sources/CHiredis"),
        .target(
            name: "CSRedis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSCore",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSServer",
            dependencies: [
                "CSCore", "CSRedis",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Prometheus /metrics, /healthz and /readyz for every process (docs/operations.md).
        .target(
            name: "CSMonitoring",
            dependencies: [
                "CSRedis", "CSServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSGateway",
            dependencies: [
                "CSCore", "CSRedis", "CSServer", "CSMonitoring",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSDispatcher",
            dependencies: [
                "CSCore", "CSRedis", "CSServer", "CSMonitoring",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSNotifier",
            dependencies: [
                "CSCore", "CSRedis", "CSServer", "CSMonitoring",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Webhook delivery (docs/operations.md "Webhooks"): reads the webhook event stream, posts signed events.
        .target(
            name: "CSWebhooks",
            dependencies: [
                "CSCore", "CSRedis", "CSServer", "CSMonitoring",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The cold store: finished conversations copied from Redis into PostgreSQL (docs/architecture.md).
        .target(
            name: "CSArchive",
            dependencies: [
                "CSCore", "CSRedis", "CSServer", "CSMonitoring",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-webhooks",
            dependencies: ["CSWebhooks", "CSServer", "CSMonitoring", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-archiver",
            dependencies: ["CSArchive", "CSServer", "CSMonitoring", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-gateway",
            dependencies: ["CSGateway", "CSServer", "CSMonitoring", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-dispatcher",
            dependencies: ["CSDispatcher", "CSServer", "CSMonitoring", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-notifier",
            dependencies: ["CSNotifier", "CSServer", "CSMonitoring", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "cs-admin",
            dependencies: [
                "CSServer", "CSCore", "CSRedis", "CSGateway", "CSDispatcher", "CSNotifier", "CSWebhooks", "CSArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Load generator for the benchmarks (docs/benchmarks.md): a SwiftNIO WebSocket client.
        .executableTarget(
            name: "cs-loadgen",
            dependencies: [
                "CSCore", "CSRedis", "CSServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CSTestSupport",
            dependencies: [
                "CSRedis", "CSCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/CSTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CSRedisTests",
            dependencies: ["CSRedis", "CSTestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
                           .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CSCoreTests",
            dependencies: ["CSCore", "CSServer", "CSWebhooks", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CSEndToEndTests",
            dependencies: [
                "CSTestSupport", "CSCore", "CSRedis", "CSServer", "CSGateway", "CSDispatcher", "CSNotifier", "CSWebhooks", "CSArchive",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
