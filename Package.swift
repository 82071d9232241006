// swift-tools-version: 6.0
// ReferStream: referring video object segmentation (ReferFormer) on live video, on the CPU.
// Layout and conventions: see README.md ("Architecture").
import PackageDescription

let package = Package(
    name: "ReferStream",
    products: [],
    dependencies: [],
    targets: [
        // MARK: Native libraries (system-library targets: a module map and one umbrella header each)
        .systemLibrary(
            name: "CGStreamer",
            pkgConfig: "gstreamer-app-1.0",
            providers: [.apt(["libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"])]
        ),
        // libzmq's header is on the default include path; its pkg-config file only adds flags that
        // SwiftPM rejects (-isystem for krb5), so it links as plain `zmq` from the module map.
        .systemLibrary(name: "CZeroMQ", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CGStreamerShims", dependencies: ["CGStreamer"]),

        // MARK: Engine
        .target(name: "Tensor", dependencies: ["COpenBLAS"]),

        // MARK: I/O
        .target(name: "VideoIngest", dependencies: ["CGStreamer", "CGStreamerShims"]),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // Release-mode figures for ingest overhead per frame (not a test): `swift run -c release ingest-bench`.
        .executableTarget(name: "ingest-bench", dependencies: ["VideoIngest"]),

        // MARK: Tests
        .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
        .testTarget(name: "VideoIngestTests", dependencies: ["VideoIngest"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
    ],
    swiftLanguageModes: [.v6]
)
