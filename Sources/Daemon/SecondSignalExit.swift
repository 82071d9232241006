import Dispatch
import Foundation

/// A second SIGTERM or SIGINT exits at once with status 130 (the first starts the graceful shutdown, handled by the
/// ServiceGroup, which also listens for them; dispatch delivers a signal to every source).
public final class SecondSignalExit {
    private let sources: [any DispatchSourceSignal]


    public init() {
        let count = Counter()
        sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if count.increment() >= 2 {
                    FileHandle.standardError.write(Data("referstreamd: second signal, exiting now\n".utf8))
                    _exit(130)
                }
            }
            source.resume()
            return source
        }
    }

    final class Counter: Sendable {
        private let lock = NSLock()
        // Safety: only accessed with `lock` held.
        nonisolated(unsafe) private var value = 0
        func increment() -> Int { lock.withLock { value += 1; return value } }
    }
}
