<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko_KR">
<context>
    <name>ApiPanel</name>
    <message>
        <source>Paper: replay a data folder (offline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paper: live prices, simulated fills</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Testnet (test money)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>LIVE (real money)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key (testnet / live only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>secret (masked)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember in OS keyring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replay</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Secret</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trading mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paper modes simulate fills and need no keys; Testnet trades test money; LIVE trades real money and asks you to confirm</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replay data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder with &lt;SYMBOL&gt;-5m.csv (.gz/.zip) kline files that the paper replay plays back</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the replay data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replay speed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replay speed: N times real time (0 = as fast as possible)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Binance USDT-M futures API key (testnet and LIVE only); never saved in a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API secret</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The API key&apos;s secret, masked; kept in memory, or in the OS keyring when ticked</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the key and secret in the OS keyring (Windows Credential Manager) at Start; untick to forget them</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reach Binance, check the clock and the key&apos;s permissions, in the background</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{mode} needs an API key and secret; enter both above</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The OS keyring could not store the key ({error}); it is used for this session only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection test is not available in this build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Testing the connection…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection failed: {text}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BacktestTab</name>
    <message>
        <source>Net PnL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Return %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Max DD %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trades</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Win %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fees</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hedges</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In market %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All data</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run backtest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Equity and drawdown (all symbols)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Price and trades</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>From</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Symbols</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backtest data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder with &lt;SYMBOL&gt;-5m.csv (.gz/.zip) kline files, and optionally &lt;SYMBOL&gt;-1d files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the backtest data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backtest every candle in the folder; untick to choose the dates</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>From date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>First day of the backtest (UTC); earlier candles only warm the indicators up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last day of the backtest (UTC), included</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Symbols to backtest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tick the symbols to backtest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backtest the strategy settings of the Trading tab in the background</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Chart symbol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The symbol whose prices and trades are drawn</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Kline data folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a data folder with &lt;SYMBOL&gt;-5m.csv(.gz/.zip) files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The &apos;to&apos; date must not be before the &apos;from&apos; date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backtesting {symbols}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Funding was not modelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done: {fills} fills.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>EquityChart</name>
    <message>
        <source>Equity (USDT)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drawdown %</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>LogPane</name>
    <message>
        <source>All symbols</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the lines of one symbol, or of all symbols</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Log</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One line per decision, order and fill, newest last</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>AutoHedge — Binance USDT-M hedge trader</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Flatten all…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>replay %p%</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backtest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting ({mode})…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused (no new entries or hedges; positions kept and tracked) — {mode}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Running — {mode}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stopped — mode: {mode}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PriceChart</name>
    <message>
        <source>open LONG</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>open SHORT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>hedge open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>5m close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{symbol} 5m close, last {bars} bars</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StrategyPanel</name>
    <message>
        <source>RSI length</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[I1] Wilder RSI length in candles (the design&apos;s RSI2 is 2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Centerline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[S1] RSI level that splits an up signal from a down signal (50 = RSI centerline)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MACD fast</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[S1] Fast EMA length of the MACD line (MACD reference only)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MACD slow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[S1, S3] Slow EMA length of the MACD line; equal to fast makes the line always 0</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leverage (x)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Leverage set on each symbol at start (1 to 125)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Take profit %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[X1] Close the main position at this profit, percent of the entry price</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Trailing %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[X3] Close the main position when the price gives back this percent from its best close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activation %</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[X3] The trailing stop starts once the best close is this percent in profit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Max hold (5m bars)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[X2] Close the main position after this many 5-minute candles (24 = 2 hours)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>RSI centerline</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>MACD line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>level</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cross</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Strategy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Entry mode</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[S4] level: any bar with an up signal may open; cross: only the bar where it turns up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Signal reference</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>[S1] What RSI is compared with: the RSI centerline, or the MACD line of the design document (MACD(1,1) is always 0 [S3])</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SymbolsEditor</name>
    <message>
        <source>Symbol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Price</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Notional USDT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>symbol, e.g. XRPUSDT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Symbols and CALL_SIZE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CALL_SIZE: main and hedge quantity in base-asset units; double-click to change it, also while running (applies to the next order)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New symbol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A Binance USDT-M futures symbol to add, e.g. XRPUSDT (only while stopped)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New symbol&apos;s CALL_SIZE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The new symbol&apos;s order quantity in base-asset units</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add symbol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add the symbol with its CALL_SIZE</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove symbol</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove the selected symbol&apos;s row</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{problem}; kept {value}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a symbol&apos;s row to remove it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At least one symbol is needed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ValidatedField</name>
    <message>
        <source>{problem}; kept {value}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
