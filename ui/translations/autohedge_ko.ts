<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko_KR">
<context>
    <name>AboutDialog</name>
    <message>
        <source>About AutoHedge</source>
        <translation>AutoHedge 정보</translation>
    </message>
    <message>
        <source>unavailable ({reason})</source>
        <translation>사용할 수 없음 ({reason})</translation>
    </message>
    <message>
        <source>Version {version}</source>
        <translation>버전 {version}</translation>
    </message>
    <message>
        <source>Commit {commit}</source>
        <translation>커밋 {commit}</translation>
    </message>
    <message>
        <source>Data folder (settings, state, logs): {folder}</source>
        <translation>데이터 폴더 (설정, 상태, 로그): {folder}</translation>
    </message>
    <message>
        <source>Python {python}, Qt for Python {qt}</source>
        <translation>Python {python}, Qt for Python {qt}</translation>
    </message>
    <message>
        <source>The version, the commit it was built from and where your files are</source>
        <translation>버전, 빌드한 커밋, 파일이 있는 위치</translation>
    </message>
    <message>
        <source>Close this window</source>
        <translation>이 창 닫기</translation>
    </message>
</context>
<context>
    <name>AccountStrip</name>
    <message>
        <source>Wallet</source>
        <translation>지갑 잔고</translation>
    </message>
    <message>
        <source>Equity</source>
        <translation>총 자산</translation>
    </message>
    <message>
        <source>Unrealised PnL</source>
        <translation>미실현 손익</translation>
    </message>
    <message>
        <source>Fees today</source>
        <translation>오늘 수수료</translation>
    </message>
    <message>
        <source>Realised today (after fees)</source>
        <translation>오늘 실현 손익 (수수료 후)</translation>
    </message>
    <message>
        <source>Funding today</source>
        <translation>오늘 펀딩비</translation>
    </message>
    <message>
        <source>Margin ratio</source>
        <translation>증거금 비율</translation>
    </message>
    <message>
        <source>Account figures appear once the bot is running.</source>
        <translation>봇이 실행되면 계좌 정보가 표시됩니다.</translation>
    </message>
    <message>
        <source>Account figures from {time} UTC, {age}</source>
        <translation>{time} UTC 기준 계좌 정보, {age}</translation>
    </message>
    <message>
        <source>not modelled</source>
        <translation>반영 안 됨</translation>
    </message>
    <message>
        <source>Paper trading and replays charge no funding; the backtest does when the data folder holds funding rates</source>
        <translation>모의 거래와 리플레이에는 펀딩비가 없습니다. 백테스트는 데이터 폴더에 펀딩비율 파일이 있을 때 반영합니다</translation>
    </message>
    <message>
        <source>No open position.</source>
        <translation>보유 포지션 없음.</translation>
    </message>
    <message>
        <source>none</source>
        <translation>없음</translation>
    </message>
    <message>
        <source>{symbol} {side} {qty} @ {entry}, mark {mark}: ROE {roe} (price {move}), liquidation {liq}{distance}</source>
        <translation>{symbol} {side} {qty} @ {entry}, 마크 {mark}: ROE {roe} (가격 {move}), 청산가 {liq}{distance}</translation>
    </message>
</context>
<context>
    <name>AlertsDialog</name>
    <message>
        <source>Fills</source>
        <translation>체결</translation>
    </message>
    <message>
        <source>Every order the exchange filled: entries, hedges and closes</source>
        <translation>거래소에서 체결된 모든 주문: 진입, 헤지, 청산</translation>
    </message>
    <message>
        <source>Errors</source>
        <translation>오류</translation>
    </message>
    <message>
        <source>A refused order, a symbol stopped by an error, any error line</source>
        <translation>거부된 주문, 오류로 멈춘 심볼, 모든 오류 로그</translation>
    </message>
    <message>
        <source>Liquidations</source>
        <translation>강제 청산</translation>
    </message>
    <message>
        <source>A position closed by the exchange (liquidation or auto-deleverage), or found smaller on the exchange</source>
        <translation>거래소가 포지션을 직접 종료함(강제청산 또는 자동 디레버리징), 또는 거래소 포지션이 봇보다 작게 확인됨</translation>
    </message>
    <message>
        <source>Trading or price stream stopped</source>
        <translation>매매 또는 시세 스트림 중단</translation>
    </message>
    <message>
        <source>The trading service stopped, for any reason; the price stream was lost (and is back)</source>
        <translation>어떤 이유로든 매매 서비스가 정지함, 시세 스트림이 끊김(및 복구됨)</translation>
    </message>
    <message>
        <source>Alerts</source>
        <translation>알림</translation>
    </message>
    <message>
        <source>Desktop notifications</source>
        <translation>데스크톱 알림</translation>
    </message>
    <message>
        <source>Show a notification beside the clock (system tray)</source>
        <translation>작업 표시줄 시계 옆(시스템 트레이)에 알림 표시</translation>
    </message>
    <message>
        <source>This desktop has no system tray: no desktop notifications</source>
        <translation>이 데스크톱에는 시스템 트레이가 없어 데스크톱 알림을 쓸 수 없습니다</translation>
    </message>
    <message>
        <source>Greyed out because this desktop has no system tray (notification area) for AutoHedge to show notifications in. Alerts still go to the Telegram / e-mail URLs below.</source>
        <translation>이 데스크톱에는 AutoHedge가 알림을 띄울 시스템 트레이(알림 영역)가 없어서 비활성화되었습니다. 알림은 아래 텔레그램 / 이메일 URL로는 계속 전송됩니다.</translation>
    </message>
    <message>
        <source>Alert on</source>
        <translation>알림 받을 이벤트</translation>
    </message>
    <message>
        <source>One URL per line, e.g. tgram://BOT_TOKEN/CHAT_ID or mailto://user:password@gmail.com</source>
        <translation>한 줄에 URL 하나, 예: tgram://BOT_TOKEN/CHAT_ID 또는 mailto://user:password@gmail.com</translation>
    </message>
    <message>
        <source>Telegram and e-mail alert URLs</source>
        <translation>텔레그램·이메일 알림 URL</translation>
    </message>
    <message>
        <source>apprise URLs, one per line. Saved in the OS keyring, never in a file; typed URLs replace the saved ones, an empty box keeps them</source>
        <translation>apprise URL을 한 줄에 하나씩 입력. 파일이 아닌 OS 키링에만 저장됩니다. 새로 입력하면 저장된 URL을 바꾸고, 비워 두면 그대로 유지합니다</translation>
    </message>
    <message>
        <source>Forget the saved URLs</source>
        <translation>저장된 URL 삭제</translation>
    </message>
    <message>
        <source>Remove the alert URLs from the OS keyring: alerts go to the desktop only</source>
        <translation>OS 키링에서 알림 URL을 지웁니다. 알림은 데스크톱에만 표시됩니다</translation>
    </message>
    <message>
        <source>Send a test alert</source>
        <translation>테스트 알림 보내기</translation>
    </message>
    <message>
        <source>Send one alert now to the typed URLs, or to the saved ones when none are typed</source>
        <translation>입력한 URL(없으면 저장된 URL)로 지금 알림을 한 번 보냅니다</translation>
    </message>
    <message>
        <source>Save these alert settings</source>
        <translation>이 알림 설정 저장</translation>
    </message>
    <message>
        <source>Close without saving</source>
        <translation>저장하지 않고 닫기</translation>
    </message>
    <message>
        <source>Telegram / e-mail (apprise URLs)</source>
        <translation>텔레그램 / 이메일 (apprise URL)</translation>
    </message>
    <message>
        <source>Saved in the OS keyring: {urls}</source>
        <translation>OS 키링에 저장됨: {urls}</translation>
    </message>
    <message>
        <source>No alert URL saved: alerts go to the desktop only.</source>
        <translation>저장된 알림 URL이 없습니다. 알림은 데스크톱에만 표시됩니다.</translation>
    </message>
    <message>
        <source>Type an alert URL first.</source>
        <translation>먼저 알림 URL을 입력하세요.</translation>
    </message>
    <message>
        <source>Test alert: AutoHedge alerts reach you here.</source>
        <translation>테스트 알림: AutoHedge 알림이 여기로 옵니다.</translation>
    </message>
    <message>
        <source>Sending a test alert…</source>
        <translation>테스트 알림 보내는 중…</translation>
    </message>
    <message>
        <source>Test alert sent to {count} URL(s).</source>
        <translation>테스트 알림을 URL {count}개로 보냈습니다.</translation>
    </message>
    <message>
        <source>The test alert was not delivered; check the URL, the network and the receiving service.</source>
        <translation>테스트 알림이 전달되지 않았습니다. URL, 네트워크, 받는 서비스를 확인하세요.</translation>
    </message>
    <message>
        <source>The OS keyring could not store the alert URLs ({error}).</source>
        <translation>OS 키링에 알림 URL을 저장하지 못했습니다 ({error}).</translation>
    </message>
</context>
<context>
    <name>ApiPanel</name>
    <message>
        <source>Paper: replay a data folder (offline)</source>
        <translation>모의: 데이터 폴더 재생 (오프라인)</translation>
    </message>
    <message>
        <source>Paper: live prices, simulated fills</source>
        <translation>모의: 실시간 시세, 가상 체결</translation>
    </message>
    <message>
        <source>Demo trading (test money)</source>
        <translation>데모 트레이딩 (테스트 자금)</translation>
    </message>
    <message>
        <source>LIVE (real money)</source>
        <translation>실거래 (실제 자금)</translation>
    </message>
    <message>
        <source>Connection</source>
        <translation>API 설정</translation>
    </message>
    <message>
        <source>API key (demo trading / live only)</source>
        <translation>API 키 (데모 트레이딩 / 실거래 전용)</translation>
    </message>
    <message>
        <source>secret (masked)</source>
        <translation>시크릿 (가려짐)</translation>
    </message>
    <message>
        <source>Remember in OS keyring</source>
        <translation>OS 키링에 기억</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>연결 테스트</translation>
    </message>
    <message>
        <source>Speed</source>
        <translation>속도</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>모드</translation>
    </message>
    <message>
        <source>Replay</source>
        <translation>재생</translation>
    </message>
    <message>
        <source>API key</source>
        <translation>API 키</translation>
    </message>
    <message>
        <source>Secret</source>
        <translation>시크릿</translation>
    </message>
    <message>
        <source>Trading mode</source>
        <translation>매매 모드</translation>
    </message>
    <message>
        <source>Paper modes simulate fills and need no keys; Demo trading trades test money on Binance demo trading; LIVE trades real money and asks you to confirm</source>
        <translation>모의 모드는 가상으로 체결하며 키가 필요 없습니다. 데모 트레이딩은 바이낸스 데모 트레이딩에서 테스트 자금으로, 실거래는 실제 자금으로 매매하며 먼저 확인을 받습니다</translation>
    </message>
    <message>
        <source>Replay data folder</source>
        <translation>재생 데이터 폴더</translation>
    </message>
    <message>
        <source>Folder with &lt;SYMBOL&gt;-5m.csv (.gz/.zip) kline files that the paper replay plays back</source>
        <translation>모의 재생에 쓰는 &lt;SYMBOL&gt;-5m.csv (.gz/.zip) 캔들 파일이 있는 폴더</translation>
    </message>
    <message>
        <source>Choose the replay data folder</source>
        <translation>재생 데이터 폴더 선택</translation>
    </message>
    <message>
        <source>Choose the folder</source>
        <translation>폴더 선택</translation>
    </message>
    <message>
        <source>Replay speed</source>
        <translation>재생 속도</translation>
    </message>
    <message>
        <source>Replay speed: N times real time (0 = as fast as possible)</source>
        <translation>재생 속도: 실제 시간의 N배 (0 = 최대한 빠르게)</translation>
    </message>
    <message>
        <source>Binance USDT-M futures API key (demo trading and LIVE only); never saved in a file</source>
        <translation>바이낸스 USDT-M 선물 API 키 (데모 트레이딩·실거래 전용). 파일에는 절대 저장하지 않습니다</translation>
    </message>
    <message>
        <source>API secret</source>
        <translation>API 시크릿</translation>
    </message>
    <message>
        <source>The API key&apos;s secret, masked; kept in memory, or in the OS keyring when ticked</source>
        <translation>API 키의 시크릿(가려서 표시). 메모리에만 두며, 체크하면 OS 키링에 저장합니다</translation>
    </message>
    <message>
        <source>Save the key and secret in the OS keyring (Windows Credential Manager) at Start; untick to forget them</source>
        <translation>시작할 때 키와 시크릿을 OS 키링(Windows 자격 증명 관리자)에 저장합니다. 체크를 풀면 삭제합니다</translation>
    </message>
    <message>
        <source>Reach Binance, check the clock and the key&apos;s permissions, in the background</source>
        <translation>바이낸스 접속, 시간 동기화, 키 권한을 백그라운드에서 확인합니다</translation>
    </message>
    <message>
        <source>{mode} needs an API key and secret; enter both above</source>
        <translation>{mode} 모드에는 API 키와 시크릿이 필요합니다. 위에 둘 다 입력하세요</translation>
    </message>
    <message>
        <source>The OS keyring could not store the key ({error}); it is used for this session only</source>
        <translation>OS 키링에 키를 저장하지 못했습니다 ({error}). 이번 실행에서만 사용합니다</translation>
    </message>
    <message>
        <source>The connection test is not available in this build</source>
        <translation>이 빌드에서는 연결 테스트를 쓸 수 없습니다</translation>
    </message>
    <message>
        <source>Testing the connection…</source>
        <translation>연결 테스트 중…</translation>
    </message>
</context>
<context>
    <name>AutoStart</name>
    <message>
        <source>Starting at sign-in is a Windows option; on this system add AutoHedge to your desktop&apos;s autostart yourself</source>
        <translation>로그인 시 시작은 Windows 옵션입니다. 이 시스템에서는 데스크톱의 자동 시작에 AutoHedge를 직접 추가하세요</translation>
    </message>
    <message>
        <source>Windows refused the sign-in start ({reason})</source>
        <translation>Windows가 로그인 시 시작을 거부했습니다 ({reason})</translation>
    </message>
    <message>
        <source>AutoHedge starts when you sign in to Windows</source>
        <translation>Windows에 로그인하면 AutoHedge가 시작됩니다</translation>
    </message>
    <message>
        <source>AutoHedge no longer starts when you sign in</source>
        <translation>로그인할 때 더 이상 AutoHedge가 시작되지 않습니다</translation>
    </message>
    <message>
        <source>Start AutoHedge when I sign in to Windows</source>
        <translation>Windows에 로그인하면 AutoHedge 시작</translation>
    </message>
</context>
<context>
    <name>BacktestTab</name>
    <message>
        <source>Net PnL</source>
        <translation>순손익</translation>
    </message>
    <message>
        <source>Return %</source>
        <translation>수익률 %</translation>
    </message>
    <message>
        <source>Max DD %</source>
        <translation>최대 낙폭 %</translation>
    </message>
    <message>
        <source>Trades</source>
        <translation>거래 수</translation>
    </message>
    <message>
        <source>Win %</source>
        <translation>승률 %</translation>
    </message>
    <message>
        <source>Fees</source>
        <translation>수수료</translation>
    </message>
    <message>
        <source>Hedges</source>
        <translation>헤지 수</translation>
    </message>
    <message>
        <source>In market %</source>
        <translation>포지션 보유 %</translation>
    </message>
    <message>
        <source>All data</source>
        <translation>전체 데이터</translation>
    </message>
    <message>
        <source>Run backtest</source>
        <translation>백테스트 실행</translation>
    </message>
    <message>
        <source>Equity and drawdown (all symbols)</source>
        <translation>자산과 낙폭 (전체 심볼)</translation>
    </message>
    <message>
        <source>Price and trades</source>
        <translation>가격과 거래</translation>
    </message>
    <message>
        <source>Symbols</source>
        <translation>심볼</translation>
    </message>
    <message>
        <source>Backtest data folder</source>
        <translation>백테스트 데이터 폴더</translation>
    </message>
    <message>
        <source>Folder with &lt;SYMBOL&gt;-5m.csv (.gz/.zip) kline files, and optionally &lt;SYMBOL&gt;-1d files</source>
        <translation>&lt;SYMBOL&gt;-5m.csv (.gz/.zip) 캔들 파일(선택: &lt;SYMBOL&gt;-1d 파일)이 있는 폴더</translation>
    </message>
    <message>
        <source>Choose the backtest data folder</source>
        <translation>백테스트 데이터 폴더 선택</translation>
    </message>
    <message>
        <source>Choose the folder</source>
        <translation>폴더 선택</translation>
    </message>
    <message>
        <source>Backtest every candle in the folder; untick to choose the dates</source>
        <translation>폴더의 모든 캔들로 백테스트합니다. 체크를 풀면 기간을 고를 수 있습니다</translation>
    </message>
    <message>
        <source>From date</source>
        <translation>시작일</translation>
    </message>
    <message>
        <source>First day of the backtest (UTC); earlier candles only warm the indicators up</source>
        <translation>백테스트 첫날 (UTC). 그 이전 캔들은 지표 계산 준비에만 씁니다</translation>
    </message>
    <message>
        <source>To date</source>
        <translation>종료일</translation>
    </message>
    <message>
        <source>Last day of the backtest (UTC), included</source>
        <translation>백테스트 마지막 날 (UTC, 포함)</translation>
    </message>
    <message>
        <source>Symbols to backtest</source>
        <translation>백테스트할 심볼</translation>
    </message>
    <message>
        <source>Tick the symbols to backtest</source>
        <translation>백테스트할 심볼을 체크하세요</translation>
    </message>
    <message>
        <source>Backtest the strategy settings of the Trading tab in the background</source>
        <translation>매매 탭의 전략 설정으로 백그라운드에서 백테스트합니다</translation>
    </message>
    <message>
        <source>Chart symbol</source>
        <translation>차트 심볼</translation>
    </message>
    <message>
        <source>The symbol whose prices and trades are drawn</source>
        <translation>가격과 거래를 그릴 심볼</translation>
    </message>
    <message>
        <source>Backtesting {symbols}…</source>
        <translation>{symbols} 백테스트 중…</translation>
    </message>
    <message>
        <source>Funding was not modelled.</source>
        <translation>펀딩비는 반영하지 않았습니다.</translation>
    </message>
    <message>
        <source>Done: {fills} fills (opens and closes; the table counts closed trades). </source>
        <translation>완료: 체결 {fills}건 (진입과 청산 포함, 표는 청산된 거래만 셉니다). </translation>
    </message>
</context>
<context>
    <name>CloseDialog</name>
    <message>
        <source>Positions are open</source>
        <translation>보유 중인 포지션이 있습니다</translation>
    </message>
    <message>
        <source>The bot holds open positions:</source>
        <translation>봇이 보유 중인 포지션:</translation>
    </message>
    <message>
        <source>Flatten them at market and stop, or stop and keep them (they stay open on the exchange, without the bot watching them until it is started again)?</source>
        <translation>시장가로 전량 청산하고 정지할까요, 아니면 포지션을 유지한 채 정지할까요? (유지하면 거래소에 포지션이 남고, 봇을 다시 시작할 때까지 아무도 관리하지 않습니다)</translation>
    </message>
    <message>
        <source>Flatten and stop</source>
        <translation>전량 청산 후 정지</translation>
    </message>
    <message>
        <source>Stop and keep positions</source>
        <translation>포지션 유지하고 정지</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
</context>
<context>
    <name>DataRangeInputs</name>
    <message>
        <source>…</source>
        <translation>…</translation>
    </message>
    <message>
        <source>All data</source>
        <translation>전체 데이터</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>데이터 폴더</translation>
    </message>
    <message>
        <source>From</source>
        <translation>시작일</translation>
    </message>
    <message>
        <source>to</source>
        <translation>종료일</translation>
    </message>
    <message>
        <source>Kline data folder</source>
        <translation>캔들 데이터 폴더</translation>
    </message>
    <message>
        <source>Choose a data folder with &lt;SYMBOL&gt;-5m.csv(.gz/.zip) files</source>
        <translation>&lt;SYMBOL&gt;-5m.csv(.gz/.zip) 파일이 있는 데이터 폴더를 선택하세요</translation>
    </message>
    <message>
        <source>The &apos;to&apos; date must not be before the &apos;from&apos; date</source>
        <translation>종료일은 시작일보다 앞설 수 없습니다</translation>
    </message>
</context>
<context>
    <name>EquityChart</name>
    <message>
        <source>Equity (USDT)</source>
        <translation>자산 (USDT)</translation>
    </message>
    <message>
        <source>Drawdown %</source>
        <translation>낙폭 %</translation>
    </message>
</context>
<context>
    <name>ExcessDialog</name>
    <message>
        <source>{symbol}: position above CALL_SIZE</source>
        <translation>{symbol}: CALL_SIZE를 넘는 포지션</translation>
    </message>
    <message>
        <source>{symbol} {side} holds {held} on Binance: {excess} above CALL_SIZE {call_size}, not by the bot&apos;s hand (a trade made by hand?).</source>
        <translation>바이낸스의 {symbol} {side} 포지션이 {held}입니다. CALL_SIZE {call_size}보다 {excess} 많으며, 봇이 만든 것이 아닙니다(수동 거래?).</translation>
    </message>
    <message>
        <source>Keep: the bot leaves the {excess} alone (shown as unmanaged in the status table) and manages and hedges CALL_SIZE only.
Close: the bot closes the {excess} at market now.

Until you answer, the bot&apos;s hedge covers CALL_SIZE only.</source>
        <translation>유지: 봇은 초과분 {excess}에 손대지 않고(상태 표에 미관리로 표시) CALL_SIZE만 관리하고 헤지합니다.
청산: 봇이 초과분 {excess}을(를) 지금 시장가로 청산합니다.

답하기 전까지 봇의 헤지는 CALL_SIZE만 덮습니다.</translation>
    </message>
    <message>
        <source>Keep {excess} unmanaged</source>
        <translation>{excess} 미관리로 유지</translation>
    </message>
    <message>
        <source>Close {excess} now</source>
        <translation>{excess} 지금 청산</translation>
    </message>
    <message>
        <source>{symbol} {side}: keep {excess} above CALL_SIZE unmanaged, requested by the user</source>
        <translation>{symbol} {side}: CALL_SIZE 초과분 {excess}을(를) 미관리로 유지하도록 사용자가 요청했습니다</translation>
    </message>
    <message>
        <source>{symbol} {side}: close {excess} above CALL_SIZE, requested by the user</source>
        <translation>{symbol} {side}: CALL_SIZE 초과분 {excess}을(를) 청산하도록 사용자가 요청했습니다</translation>
    </message>
</context>
<context>
    <name>ForcedMarks</name>
    <message>
        <source>liquidated</source>
        <translation>청산됨</translation>
    </message>
    <message>
        <source>auto-deleveraged</source>
        <translation>자동 디레버리징됨</translation>
    </message>
    <message>
        <source>settled</source>
        <translation>정산됨</translation>
    </message>
    <message>
        <source>⚠ {side} {what} by the exchange</source>
        <translation>⚠ {side} 거래소에 의해 {what}</translation>
    </message>
</context>
<context>
    <name>HeartbeatPanel</name>
    <message>
        <source>Stream state</source>
        <translation>스트림 상태</translation>
    </message>
    <message>
        <source>Time to the next close</source>
        <translation>다음 봉 마감까지 남은 시간</translation>
    </message>
    <message>
        <source>Symbol</source>
        <translation>심볼</translation>
    </message>
    <message>
        <source>Last close processed</source>
        <translation>마지막 처리 봉</translation>
    </message>
    <message>
        <source>Signal now</source>
        <translation>현재 신호</translation>
    </message>
    <message>
        <source>If the candle closed now</source>
        <translation>지금 봉이 마감된다면</translation>
    </message>
    <message>
        <source>Heartbeat per symbol</source>
        <translation>심볼별 동작 상태</translation>
    </message>
    <message>
        <source>stream connected</source>
        <translation>스트림 연결됨</translation>
    </message>
    <message>
        <source>stream reconnecting</source>
        <translation>스트림 재연결 중</translation>
    </message>
    <message>
        <source>REST fallback</source>
        <translation>REST 대체 수신</translation>
    </message>
    <message>
        <source>replay (no stream)</source>
        <translation>리플레이 (스트림 없음)</translation>
    </message>
    <message>
        <source>not running</source>
        <translation>실행 중 아님</translation>
    </message>
    <message>
        <source>connecting</source>
        <translation>연결 중</translation>
    </message>
    <message>
        <source>waiting for data</source>
        <translation>데이터 대기 중</translation>
    </message>
    <message>
        <source>no order</source>
        <translation>주문 없음</translation>
    </message>
    <message>
        <source>at {price}: signal {signal}, {actions}</source>
        <translation>{price}에서: 신호 {signal}, {actions}</translation>
    </message>
    <message>
        <source>Next 5m close: —   Daily close: —</source>
        <translation>다음 5분봉 마감: —   일봉 마감: —</translation>
    </message>
    <message>
        <source>Next 5m close in {five}   Daily close in {day}</source>
        <translation>다음 5분봉 마감까지 {five}   일봉 마감까지 {day}</translation>
    </message>
    <message>
        <source>clock {offset} ms vs Binance</source>
        <translation>바이낸스 대비 시계 {offset} ms</translation>
    </message>
    <message>
        <source>no heartbeat since {time} UTC</source>
        <translation>{time} UTC 이후 하트비트 없음</translation>
    </message>
</context>
<context>
    <name>HedgeQuestion</name>
    <message>
        <source>Switch to hedge mode?</source>
        <translation>헤지 모드로 전환할까요?</translation>
    </message>
    <message>
        <source>The Binance futures account is in one-way mode and the bot needs hedge mode. Switching is account-wide: it changes every USDⓈ-M symbol and COIN-M futures too, and Binance refuses it while any of them has an open position or order. Switch the account to hedge mode and start?</source>
        <translation>Binance 선물 계정이 단방향 모드이며 봇에는 헤지 모드가 필요합니다. 전환은 계정 전체에 적용됩니다: 모든 USDⓈ-M 심볼과 COIN-M 선물도 바뀌며, 그중 하나라도 열린 포지션이나 주문이 있으면 Binance가 거부합니다. 계정을 헤지 모드로 전환하고 시작할까요?</translation>
    </message>
</context>
<context>
    <name>HistoryLink</name>
    <message>
        <source>trades.csv not written: {reason}</source>
        <translation>trades.csv를 쓰지 못했습니다: {reason}</translation>
    </message>
</context>
<context>
    <name>HistoryTab</name>
    <message>
        <source>All symbols</source>
        <translation>전체 심볼</translation>
    </message>
    <message>
        <source>Export CSV...</source>
        <translation>CSV로 내보내기...</translation>
    </message>
    <message>
        <source>Symbol</source>
        <translation>심볼</translation>
    </message>
    <message>
        <source>Show the history of one symbol, or of all</source>
        <translation>한 심볼 또는 전체 심볼의 내역을 표시합니다</translation>
    </message>
    <message>
        <source>From (UTC)</source>
        <translation>시작일 (UTC)</translation>
    </message>
    <message>
        <source>First UTC day shown</source>
        <translation>표시할 첫날 (UTC)</translation>
    </message>
    <message>
        <source>To (UTC)</source>
        <translation>종료일 (UTC)</translation>
    </message>
    <message>
        <source>Last UTC day shown</source>
        <translation>표시할 마지막 날 (UTC)</translation>
    </message>
    <message>
        <source>Write the list on show to a CSV file (an earlier file of that name is kept as .bak)</source>
        <translation>표시 중인 목록을 CSV 파일로 저장합니다 (같은 이름의 이전 파일은 .bak으로 보관)</translation>
    </message>
    <message>
        <source>Side</source>
        <translation>방향</translation>
    </message>
    <message>
        <source>Opened (UTC)</source>
        <translation>진입 시각 (UTC)</translation>
    </message>
    <message>
        <source>Closed (UTC)</source>
        <translation>청산 시각 (UTC)</translation>
    </message>
    <message>
        <source>Quantity</source>
        <translation>수량</translation>
    </message>
    <message>
        <source>Entry</source>
        <translation>진입가</translation>
    </message>
    <message>
        <source>Exit</source>
        <translation>청산가</translation>
    </message>
    <message>
        <source>Realised PnL</source>
        <translation>실현 손익</translation>
    </message>
    <message>
        <source>Fees</source>
        <translation>수수료</translation>
    </message>
    <message>
        <source>Funding</source>
        <translation>펀딩비</translation>
    </message>
    <message>
        <source>Net USDT</source>
        <translation>순손익 USDT</translation>
    </message>
    <message>
        <source>Time (UTC)</source>
        <translation>시각 (UTC)</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>구분</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>가격</translation>
    </message>
    <message>
        <source>Commission</source>
        <translation>수수료</translation>
    </message>
    <message>
        <source>Asset</source>
        <translation>자산</translation>
    </message>
    <message>
        <source>Trade id</source>
        <translation>체결 번호</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>금액</translation>
    </message>
    <message>
        <source>Day (UTC)</source>
        <translation>날짜 (UTC)</translation>
    </message>
    <message>
        <source>Liquidation fees</source>
        <translation>청산 수수료</translation>
    </message>
    <message>
        <source>Equity curve: cumulative USDT result after fees and funding</source>
        <translation>자산 곡선: 수수료와 펀딩비를 뺀 누적 USDT 손익</translation>
    </message>
    <message>
        <source>Round trips</source>
        <translation>왕복 거래</translation>
    </message>
    <message>
        <source>Fills</source>
        <translation>체결</translation>
    </message>
    <message>
        <source>Per day</source>
        <translation>일별</translation>
    </message>
    <message>
        <source>Equity</source>
        <translation>자산 곡선</translation>
    </message>
    <message>
        <source>No trading history yet: the ledger is created by the first start.</source>
        <translation>아직 거래 기록이 없습니다. 장부는 처음 시작할 때 만들어집니다.</translation>
    </message>
    <message>
        <source>Realised {realized} USDT, fees {fees}, funding {funding} USDT, liquidation fees {clear} USDT: net {net} USDT</source>
        <translation>실현 손익 {realized} USDT, 수수료 {fees}, 펀딩비 {funding} USDT, 청산 수수료 {clear} USDT: 순손익 {net} USDT</translation>
    </message>
    <message>
        <source>{trips} round trips, {fills} fills, {funding} funding payments</source>
        <translation>왕복 거래 {trips}건, 체결 {fills}건, 펀딩비 {funding}건</translation>
    </message>
    <message>
        <source>open</source>
        <translation>보유 중</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>CSV로 내보내기</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 파일 (*.csv)</translation>
    </message>
    <message>
        <source>Saved {path} (an earlier file of that name is kept as .bak)</source>
        <translation>{path}에 저장했습니다 (같은 이름의 이전 파일은 .bak으로 보관)</translation>
    </message>
</context>
<context>
    <name>LimitsQuestion</name>
    <message>
        <source>Loss limit reached today</source>
        <translation>오늘 손실 한도 도달</translation>
    </message>
    <message>
        <source>{limit} was reached at {time} UTC (equity {equity} USDT; limit: {words}). Until the next UTC day the bot opens no new main position; the positions held are still managed.

Resume new entries anyway?</source>
        <translation>{time} UTC에 {limit}에 도달했습니다 (자산 {equity} USDT; 한도: {words}). 다음 UTC 일까지 봇은 새 메인 포지션을 열지 않으며, 보유 중인 포지션은 계속 관리됩니다.

그래도 신규 진입을 재개하시겠습니까?</translation>
    </message>
    <message>
        <source>The daily loss limit [L1]</source>
        <translation>일일 손실 한도 [L1]</translation>
    </message>
    <message>
        <source>The drawdown limit [L2]</source>
        <translation>낙폭 한도 [L2]</translation>
    </message>
    <message>
        <source>{usdt} USDT</source>
        <translation>{usdt} USDT</translation>
    </message>
    <message>
        <source>{pct} % of the day&apos;s start ({usdt} USDT)</source>
        <translation>그날 시작 자산의 {pct} % ({usdt} USDT)</translation>
    </message>
    <message>
        <source>a daily loss of {amounts}, fees included</source>
        <translation>수수료 포함 일일 손실 {amounts}</translation>
    </message>
    <message>
        <source>{one} or {other}</source>
        <translation>{one} 또는 {other}</translation>
    </message>
    <message>
        <source>a drawdown of {pct} % from the peak (equity {line} USDT)</source>
        <translation>고점 대비 {pct} % 하락 (자산 {line} USDT)</translation>
    </message>
</context>
<context>
    <name>LiveChart</name>
    <message>
        <source>Chart symbol</source>
        <translation>차트 심볼</translation>
    </message>
    <message>
        <source>The symbol whose 5m candles and trades are drawn</source>
        <translation>5분봉과 매매 내역을 그릴 심볼</translation>
    </message>
    <message>
        <source>&amp;Chart</source>
        <translation>차트(&amp;C)</translation>
    </message>
    <message>
        <source>Age of the chart&apos;s last candle</source>
        <translation>차트 마지막 캔들의 경과 시간</translation>
    </message>
    <message>
        <source>last candle update {age}</source>
        <translation>마지막 캔들 갱신 {age}</translation>
    </message>
</context>
<context>
    <name>LiveConfirm</name>
    <message>
        <source>{symbol}: CALL_SIZE {size}, {leverage}x {margin}</source>
        <translation>{symbol}: CALL_SIZE {size}, {leverage}배 {margin}</translation>
    </message>
    <message>
        <source>notional unknown until the first price (test the connection to see it)</source>
        <translation>첫 가격 전까지 명목가치 알 수 없음 (연결 테스트로 확인)</translation>
    </message>
    <message>
        <source>notional {notional} USDT (margin {margin} USDT), fees about {fees} USDT per round trip</source>
        <translation>명목가치 {notional} USDT (증거금 {margin} USDT), 왕복 1회 수수료 약 {fees} USDT</translation>
    </message>
    <message>
        <source>the Binance USDT-M futures account of API key {key}</source>
        <translation>API 키 {key}의 바이낸스 USDT-M 선물 계정</translation>
    </message>
    <message>
        <source>the Binance USDT-M futures account of the key you will enter</source>
        <translation>입력할 키의 바이낸스 USDT-M 선물 계정</translation>
    </message>
    <message>
        <source>Start LIVE trading with REAL MONEY on {account}?</source>
        <translation>{account}에서 실제 자금으로 실거래를 시작할까요?</translation>
    </message>
    <message>
        <source>Switch to LIVE trading with REAL MONEY on {account}?</source>
        <translation>{account}에서 실제 자금으로 하는 실거래 모드로 바꿀까요?</translation>
    </message>
    <message>
        <source>Fees: {fee} % of the notional per fill at the taker rate, so {trip} % per round trip (open and close); a hedge is one more round trip.</source>
        <translation>수수료: 테이커 요율로 체결마다 명목가치의 {fee} %, 왕복(진입과 청산) 1회에 {trip} %; 헤지는 왕복 1회가 더 듭니다.</translation>
    </message>
    <message>
        <source>Orders will be sent to Binance as soon as the strategy decides.</source>
        <translation>전략이 판단하는 즉시 바이낸스로 주문이 나갑니다.</translation>
    </message>
</context>
<context>
    <name>LogPane</name>
    <message>
        <source>All symbols</source>
        <translation>전체 심볼</translation>
    </message>
    <message>
        <source>Log filter</source>
        <translation>로그 필터</translation>
    </message>
    <message>
        <source>Show the lines of one symbol, or of all symbols</source>
        <translation>한 심볼 또는 전체 심볼의 로그를 표시합니다</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>로그</translation>
    </message>
    <message>
        <source>One line per decision, order and fill, newest last</source>
        <translation>판단·주문·체결마다 한 줄, 최신이 맨 아래</translation>
    </message>
    <message>
        <source>Show</source>
        <translation>표시</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>AutoHedge — Binance USDT-M hedge trader</source>
        <translation>AutoHedge — 바이낸스 USDT-M 헤지 자동매매</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>전략 시작</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>일시정지</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>정지</translation>
    </message>
    <message>
        <source>Flatten all…</source>
        <translation>전체 청산…</translation>
    </message>
    <message>
        <source>Stopped</source>
        <translation>정지됨</translation>
    </message>
    <message>
        <source>Start LIVE trading</source>
        <translation>실거래 시작</translation>
    </message>
    <message>
        <source>Stopping…</source>
        <translation>정지 중…</translation>
    </message>
    <message>
        <source>Flatten {symbol}</source>
        <translation>{symbol} 청산</translation>
    </message>
    <message>
        <source>Close every open position (main and hedge) of {symbols} at market now?</source>
        <translation>{symbols}의 열린 포지션(메인과 헤지)을 지금 시장가로 모두 청산할까요?</translation>
    </message>
    <message>
        <source>Flatten all</source>
        <translation>전체 청산</translation>
    </message>
    <message>
        <source>&amp;Trading</source>
        <translation>매매(&amp;T)</translation>
    </message>
    <message>
        <source>S&amp;ettings</source>
        <translation>설정(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Backtest</source>
        <translation>백테스트(&amp;B)</translation>
    </message>
    <message>
        <source>&amp;Optimize</source>
        <translation>최적화(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>거래 내역(&amp;H)</translation>
    </message>
    <message>
        <source>The trading service is not available in this build</source>
        <translation>이 빌드에는 매매 서비스가 없습니다</translation>
    </message>
    <message>
        <source>The replay data folder {folder} does not exist</source>
        <translation>리플레이 데이터 폴더 {folder}가 없습니다</translation>
    </message>
    <message>
        <source>Live start cancelled</source>
        <translation>실거래 시작을 취소했습니다</translation>
    </message>
    <message>
        <source>starting…</source>
        <translation>시작 중…</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>시작 중…</translation>
    </message>
    <message>
        <source>Paused: no new entries or hedges; positions kept and tracked</source>
        <translation>일시정지: 신규 진입·헤지 없음, 보유 포지션은 유지하며 계속 관리</translation>
    </message>
    <message>
        <source>Running</source>
        <translation>실행 중</translation>
    </message>
    <message>
        <source>Refreshing the account and the heartbeat…</source>
        <translation>계좌 정보와 동작 상태를 새로 고치는 중…</translation>
    </message>
    <message>
        <source>Flatten all and stop requested</source>
        <translation>전체 청산 후 정지를 요청했습니다</translation>
    </message>
    <message>
        <source>Close every open position (main and hedge) of {symbol} at market now?</source>
        <translation>{symbol}의 모든 포지션(메인과 헤지)을 지금 시장가로 청산할까요?</translation>
    </message>
    <message>
        <source>Flatten {symbol} requested by the user</source>
        <translation>사용자 요청: {symbol} 청산</translation>
    </message>
    <message>
        <source>Pause {symbol} requested by the user</source>
        <translation>사용자 요청: {symbol} 일시정지</translation>
    </message>
    <message>
        <source>Resume {symbol} requested by the user</source>
        <translation>사용자 요청: {symbol} 재개</translation>
    </message>
    <message>
        <source>Flatten all requested by the user</source>
        <translation>사용자 요청: 전체 청산</translation>
    </message>
    <message>
        <source>CALL_SIZE of {symbol} set to {qty}; applies to the next order</source>
        <translation>{symbol}의 CALL_SIZE를 {qty}(으)로 변경했습니다. 다음 주문부터 적용됩니다</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>재개</translation>
    </message>
    <message>
        <source>waiting for the network</source>
        <translation>네트워크 대기 중</translation>
    </message>
    <message>
        <source>Stopped; state saved</source>
        <translation>정지됨, 상태 저장 완료</translation>
    </message>
    <message>
        <source>not started</source>
        <translation>시작 안 됨</translation>
    </message>
    <message>
        <source>Flatten all and stop requested on closing the window</source>
        <translation>창을 닫으며 전체 청산 후 정지를 요청했습니다</translation>
    </message>
    <message>
        <source>The trading service did not stop in time; close again to retry</source>
        <translation>매매 서비스가 제시간에 정지하지 않았습니다. 다시 닫아 재시도하세요</translation>
    </message>
    <message>
        <source>Switch to LIVE</source>
        <translation>실거래로 전환</translation>
    </message>
</context>
<context>
    <name>ModeBanner</name>
    <message>
        <source>PAPER — replay of a data folder, simulated fills, no money</source>
        <translation>모의매매 — 데이터 폴더 리플레이, 가상 체결, 실제 자금 없음</translation>
    </message>
    <message>
        <source>PAPER — live prices, simulated fills, no money</source>
        <translation>모의매매 — 실시간 시세, 가상 체결, 실제 자금 없음</translation>
    </message>
    <message>
        <source>DEMO TRADING — real orders on Binance demo trading, test money</source>
        <translation>데모 트레이딩 — Binance 데모 트레이딩에 실제 주문, 테스트 자금</translation>
    </message>
    <message>
        <source>LIVE — REAL MONEY on Binance</source>
        <translation>실거래 — Binance 실제 자금</translation>
    </message>
</context>
<context>
    <name>OptimizeTab</name>
    <message>
        <source>Choose the kline data folder</source>
        <translation>캔들 데이터 폴더 선택</translation>
    </message>
    <message>
        <source>All data</source>
        <translation>전체 데이터</translation>
    </message>
    <message>
        <source>Setting (tick to search it)</source>
        <translation>설정 (체크하면 탐색)</translation>
    </message>
    <message>
        <source>Values: a,b,c or low:high:step</source>
        <translation>값: a,b,c 또는 최소:최대:간격</translation>
    </message>
    <message>
        <source>Grid: every combination</source>
        <translation>그리드: 모든 조합</translation>
    </message>
    <message>
        <source>Optuna (TPE): sampled, for large spaces</source>
        <translation>Optuna (TPE): 표본 탐색, 넓은 범위용</translation>
    </message>
    <message>
        <source>Optuna: backtests to run (per walk-forward window)</source>
        <translation>Optuna: 실행할 백테스트 수 (워크포워드 구간마다)</translation>
    </message>
    <message>
        <source>Walk-forward</source>
        <translation>워크포워드</translation>
    </message>
    <message>
        <source>Run search</source>
        <translation>탐색 실행</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <source>Use these settings</source>
        <translation>이 설정 사용</translation>
    </message>
    <message>
        <source>Put the selected row&apos;s values into the strategy panel</source>
        <translation>선택한 행의 값을 전략 패널에 넣습니다</translation>
    </message>
    <message>
        <source>in-sample</source>
        <translation>인샘플</translation>
    </message>
    <message>
        <source>Data folder</source>
        <translation>데이터 폴더</translation>
    </message>
    <message>
        <source>From</source>
        <translation>시작일</translation>
    </message>
    <message>
        <source>Objective (maximised)</source>
        <translation>목표 지표 (최대화)</translation>
    </message>
    <message>
        <source>Trials</source>
        <translation>시행 횟수</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>탐색</translation>
    </message>
    <message>
        <source>in-sample days</source>
        <translation>인샘플 일수</translation>
    </message>
    <message>
        <source>out-of-sample days</source>
        <translation>아웃오브샘플 일수</translation>
    </message>
    <message>
        <source>Validation</source>
        <translation>검증</translation>
    </message>
    <message>
        <source>Processes</source>
        <translation>프로세스 수</translation>
    </message>
    <message>
        <source>Net PnL (USDT)</source>
        <translation>순손익 (USDT)</translation>
    </message>
    <message>
        <source>Sharpe ratio</source>
        <translation>샤프 지수</translation>
    </message>
    <message>
        <source>Calmar ratio</source>
        <translation>칼마 지수</translation>
    </message>
    <message>
        <source>Profit factor</source>
        <translation>손익비 (프로핏 팩터)</translation>
    </message>
    <message>
        <source>Take profit %</source>
        <translation>익절 %</translation>
    </message>
    <message>
        <source>RSI centerline</source>
        <translation>RSI 중심선</translation>
    </message>
    <message>
        <source>Trailing stop %</source>
        <translation>트레일링 스톱 %</translation>
    </message>
    <message>
        <source>Trailing activation %</source>
        <translation>트레일링 활성화 %</translation>
    </message>
    <message>
        <source>Max hold (5m bars)</source>
        <translation>최대 보유 (5분봉 개수)</translation>
    </message>
    <message>
        <source>RSI length</source>
        <translation>RSI 길이</translation>
    </message>
    <message>
        <source>Entry mode</source>
        <translation>진입 방식</translation>
    </message>
    <message>
        <source>Signal reference</source>
        <translation>신호 기준선</translation>
    </message>
    <message>
        <source>MACD fast</source>
        <translation>MACD 단기</translation>
    </message>
    <message>
        <source>MACD slow</source>
        <translation>MACD 장기</translation>
    </message>
    <message>
        <source>Guard on the exchange</source>
        <translation>거래소 가드</translation>
    </message>
    <message>
        <source>Guard distance %</source>
        <translation>가드 거리 %</translation>
    </message>
    <message>
        <source>Return %</source>
        <translation>수익률 %</translation>
    </message>
    <message>
        <source>Max drawdown %</source>
        <translation>최대 낙폭 %</translation>
    </message>
    <message>
        <source>Sharpe</source>
        <translation>샤프 지수</translation>
    </message>
    <message>
        <source>Trades</source>
        <translation>거래 수</translation>
    </message>
    <message>
        <source>Fees (USDT)</source>
        <translation>수수료 (USDT)</translation>
    </message>
    <message>
        <source>Hedges</source>
        <translation>헤지 수</translation>
    </message>
    <message>
        <source>Calmar</source>
        <translation>칼마 지수</translation>
    </message>
    <message>
        <source>Window</source>
        <translation>구간</translation>
    </message>
    <message>
        <source>In-sample from</source>
        <translation>인샘플 시작</translation>
    </message>
    <message>
        <source>In-sample to</source>
        <translation>인샘플 끝</translation>
    </message>
    <message>
        <source>Out-of-sample from</source>
        <translation>아웃오브샘플 시작</translation>
    </message>
    <message>
        <source>Out-of-sample to</source>
        <translation>아웃오브샘플 끝</translation>
    </message>
    <message>
        <source>{name} (in-sample)</source>
        <translation>{name} (인샘플)</translation>
    </message>
    <message>
        <source>{name} (out-of-sample)</source>
        <translation>{name} (아웃오브샘플)</translation>
    </message>
    <message>
        <source>Folder of &lt;SYMBOL&gt;-5m.csv(.gz/.zip) klines to search on</source>
        <translation>탐색에 쓸 &lt;SYMBOL&gt;-5m.csv(.gz/.zip) 캔들 파일 폴더</translation>
    </message>
    <message>
        <source>Choose the data folder</source>
        <translation>데이터 폴더 선택</translation>
    </message>
    <message>
        <source>Search on every candle of the folder; untick to choose the dates</source>
        <translation>폴더의 모든 캔들로 탐색합니다. 체크를 풀면 기간을 고를 수 있습니다</translation>
    </message>
    <message>
        <source>First day searched (UTC)</source>
        <translation>탐색 첫날 (UTC)</translation>
    </message>
    <message>
        <source>To</source>
        <translation>종료일</translation>
    </message>
    <message>
        <source>Last day searched (UTC), included</source>
        <translation>탐색 마지막 날 (UTC, 포함)</translation>
    </message>
    <message>
        <source>Settings to search</source>
        <translation>탐색할 설정</translation>
    </message>
    <message>
        <source>Tick a setting to search it; its values are a,b,c or low:high:step</source>
        <translation>탐색할 설정에 체크하세요. 값은 a,b,c 또는 최소:최대:간격 형식입니다</translation>
    </message>
    <message>
        <source>Objective</source>
        <translation>목표 지표</translation>
    </message>
    <message>
        <source>The figure the search maximises</source>
        <translation>탐색이 최대화하는 지표</translation>
    </message>
    <message>
        <source>Search method</source>
        <translation>탐색 방식</translation>
    </message>
    <message>
        <source>Grid tries every combination; Optuna samples, for spaces too large for a grid</source>
        <translation>그리드는 모든 조합을 시험하고, Optuna는 그리드로 감당하기 어려운 넓은 범위를 표본 탐색합니다</translation>
    </message>
    <message>
        <source>Choose the settings on in-sample days and measure them on the following out-of-sample days</source>
        <translation>인샘플 기간으로 설정을 고르고, 이어지는 아웃오브샘플 기간으로 성과를 검증합니다</translation>
    </message>
    <message>
        <source>In-sample days</source>
        <translation>인샘플 일수</translation>
    </message>
    <message>
        <source>Days each walk-forward window searches on</source>
        <translation>워크포워드 구간마다 탐색하는 일수</translation>
    </message>
    <message>
        <source>Out-of-sample days</source>
        <translation>아웃오브샘플 일수</translation>
    </message>
    <message>
        <source>Days each window&apos;s choice is then measured on</source>
        <translation>구간마다 고른 설정을 검증하는 일수</translation>
    </message>
    <message>
        <source>Backtests run at the same time (one per CPU core is usually best)</source>
        <translation>동시에 실행할 백테스트 수 (보통 CPU 코어 수가 가장 좋습니다)</translation>
    </message>
    <message>
        <source>Run the backtests of the search in the background</source>
        <translation>탐색의 백테스트를 백그라운드에서 실행합니다</translation>
    </message>
    <message>
        <source>Cancel the search</source>
        <translation>탐색 취소</translation>
    </message>
    <message>
        <source>Stop the search; finished rows are kept</source>
        <translation>탐색을 멈춥니다. 끝난 행은 남습니다</translation>
    </message>
    <message>
        <source>Search results</source>
        <translation>탐색 결과</translation>
    </message>
    <message>
        <source>One row per setting tried; click a header to sort</source>
        <translation>시험한 설정마다 한 행. 머리글을 누르면 정렬됩니다</translation>
    </message>
    <message>
        <source>Heatmap x axis</source>
        <translation>히트맵 x축</translation>
    </message>
    <message>
        <source>The setting across the heatmap</source>
        <translation>히트맵 가로축 설정</translation>
    </message>
    <message>
        <source>Heatmap y axis</source>
        <translation>히트맵 y축</translation>
    </message>
    <message>
        <source>The setting up the heatmap</source>
        <translation>히트맵 세로축 설정</translation>
    </message>
    <message>
        <source>Heatmap figures</source>
        <translation>히트맵 수치</translation>
    </message>
    <message>
        <source>In-sample figures, or (walk-forward) out-of-sample ones</source>
        <translation>인샘플 수치, 또는 (워크포워드) 아웃오브샘플 수치</translation>
    </message>
    <message>
        <source>Heatmap x</source>
        <translation>히트맵 x</translation>
    </message>
    <message>
        <source>y</source>
        <translation>y</translation>
    </message>
    <message>
        <source>Tick at least one setting to search</source>
        <translation>탐색할 설정을 하나 이상 체크하세요</translation>
    </message>
    <message>
        <source>Loading the data and starting the search…</source>
        <translation>데이터를 읽고 탐색을 시작하는 중…</translation>
    </message>
    <message numerus="yes">
        <source>Cancelled: the %n finished row(s) are kept.</source>
        <translation>
            <numerusform>취소됨: 끝난 %n개 행은 남겨 둡니다.</numerusform>
        </translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>취소 중…</translation>
    </message>
    <message>
        <source>out-of-sample</source>
        <translation>아웃오브샘플</translation>
    </message>
    <message>
        <source>in-sample {a} to {b}, out-of-sample {c} to {d}</source>
        <translation>인샘플 {a} ~ {b}, 아웃오브샘플 {c} ~ {d}</translation>
    </message>
    <message>
        <source>Done. Walk-forward, chosen settings out-of-sample: net PnL {pnl} USDT, max DD {dd} %. Last window&apos;s choice: {best}.</source>
        <translation>완료. 워크포워드, 선택된 설정의 아웃오브샘플 성과: 순손익 {pnl} USDT, 최대 낙폭 {dd} %. 마지막 구간의 선택: {best}.</translation>
    </message>
    <message>
        <source>Done. Best {objective}: {best} (net PnL {pnl} USDT, in-sample).</source>
        <translation>완료. 최고 {objective}: {best} (순손익 {pnl} USDT, 인샘플).</translation>
    </message>
    <message>
        <source>Too few settings or days to estimate how likely the best row is luck.</source>
        <translation>설정이나 일수가 너무 적어 최고 행이 운일 가능성을 추정할 수 없습니다.</translation>
    </message>
    <message>
        <source>Probability that the best row is overfit (PBO): {pbo}; deflated Sharpe of the best row: {dsr}. PBO is about 0.5 when the search only picked luck and near 0 for a real edge; a deflated Sharpe near 1 means the result is unlikely to be the luck of trying this many settings.</source>
        <translation>최고 행이 과최적화되었을 확률(PBO): {pbo}; 최고 행의 디플레이티드 샤프: {dsr}. 검색이 운만 골랐다면 PBO는 약 0.5, 실제 우위가 있으면 0에 가깝습니다. 디플레이티드 샤프가 1에 가까우면 이만큼 많은 설정을 시도한 운으로 나온 결과일 가능성이 낮습니다.</translation>
    </message>
    <message>
        <source>{objective} ({side}, mean over the windows), best over the other settings</source>
        <translation>{objective} ({side}, 구간 평균), 나머지 설정 중 최고값</translation>
    </message>
    <message>
        <source>{objective} ({side}), best over the other settings</source>
        <translation>{objective} ({side}), 나머지 설정 중 최고값</translation>
    </message>
    <message>
        <source>The bot is trading. Put {values} into the strategy panel? They apply at the next Start; the running bot keeps its settings.</source>
        <translation>봇이 매매 중입니다. {values} 값을 전략 패널에 넣을까요? 다음 시작부터 적용되며, 실행 중인 봇은 현재 설정을 유지합니다.</translation>
    </message>
    <message>
        <source>Put into the strategy panel: {values}.</source>
        <translation>전략 패널에 넣음: {values}.</translation>
    </message>
    <message>
        <source>Not in the strategy panel, so not changed there: {keys}.</source>
        <translation>전략 패널에 없는 항목이라 바꾸지 않음: {keys}.</translation>
    </message>
</context>
<context>
    <name>PriceChart</name>
    <message>
        <source>open LONG</source>
        <translation>롱 진입</translation>
    </message>
    <message>
        <source>open SHORT</source>
        <translation>숏 진입</translation>
    </message>
    <message>
        <source>hedge open</source>
        <translation>헤지 진입</translation>
    </message>
    <message>
        <source>close</source>
        <translation>청산</translation>
    </message>
    <message>
        <source>TP</source>
        <translation>익절</translation>
    </message>
    <message>
        <source>trail on</source>
        <translation>트레일링 발동</translation>
    </message>
    <message>
        <source>trail stop</source>
        <translation>트레일링 스탑</translation>
    </message>
    <message>
        <source>5m close</source>
        <translation>5분봉 종가</translation>
    </message>
    <message>
        <source>{symbol} 5m close: the last two days of {count} bars (zoom out with the mouse wheel)</source>
        <translation>{symbol} 5분봉 종가: 전체 {count}개 봉 중 최근 이틀 (마우스 휠로 축소)</translation>
    </message>
    <message>
        <source>{symbol}: waiting for candles</source>
        <translation>{symbol}: 캔들 대기 중</translation>
    </message>
    <message>
        <source>{symbol} 5m candles, last {count}</source>
        <translation>{symbol} 5분봉, 최근 {count}개</translation>
    </message>
</context>
<context>
    <name>ReplayProgress</name>
    <message>
        <source>replay {percent} %</source>
        <translation>리플레이 {percent} %</translation>
    </message>
    <message>
        <source>{done} of {total} candles replayed</source>
        <translation>캔들 {total}개 중 {done}개 리플레이됨</translation>
    </message>
    <message>
        <source>replay day {day} of {days} · {percent} %</source>
        <translation>리플레이 {days}일 중 {day}일째 · {percent} %</translation>
    </message>
    <message>
        <source>Replayed to {time} UTC; the bar is that day passing</source>
        <translation>{time} UTC까지 재생됨; 막대는 그날이 지나가는 모습입니다</translation>
    </message>
</context>
<context>
    <name>Resume</name>
    <message>
        <source>simulated trading</source>
        <translation>모의 거래(리플레이)</translation>
    </message>
    <message>
        <source>paper trading</source>
        <translation>페이퍼 트레이딩</translation>
    </message>
    <message>
        <source>demo trading</source>
        <translation>데모 거래</translation>
    </message>
    <message>
        <source>LIVE trading</source>
        <translation>실거래(LIVE)</translation>
    </message>
    <message>
        <source>AutoHedge was in {mode} when it last ended without Stop (a crash, a restart of the computer or a power cut). Start it again now? The account lock and the reconciliation with the exchange come first, as on every start.</source>
        <translation>AutoHedge가 마지막에 정지 없이 종료될 때 {mode} 중이었습니다 (충돌, 컴퓨터 재시작 또는 정전). 지금 다시 시작할까요? 매번 시작할 때처럼 계정 잠금과 거래소와의 대조가 먼저 이루어집니다.</translation>
    </message>
    <message>
        <source>Resume trading</source>
        <translation>거래 재개</translation>
    </message>
    <message>
        <source>Not resumed; press Start to trade</source>
        <translation>재개하지 않았습니다. 거래하려면 시작을 누르세요</translation>
    </message>
</context>
<context>
    <name>RunnerThread</name>
    <message>
        <source>Not started: {reason}</source>
        <translation>시작 못 함: {reason}</translation>
    </message>
    <message>
        <source>{reason}. Trying again in {seconds} s (attempt {attempt}); Stop gives up.</source>
        <translation>{reason}. {seconds}초 후 다시 시도합니다 ({attempt}번째). 정지를 누르면 포기합니다.</translation>
    </message>
</context>
<context>
    <name>ServiceTexts</name>
    <message>
        <source>starting</source>
        <translation>시작 중</translation>
    </message>
    <message>
        <source>running</source>
        <translation>실행 중</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>일시정지</translation>
    </message>
    <message>
        <source>error</source>
        <translation>오류</translation>
    </message>
    <message>
        <source>stopped</source>
        <translation>정지됨</translation>
    </message>
    <message>
        <source>saved state; reconciled with the exchange at Start</source>
        <translation>저장된 상태; 시작할 때 거래소와 대조합니다</translation>
    </message>
    <message>
        <source>paused by the user: no new entries or hedges</source>
        <translation>사용자가 일시정지: 신규 진입·헤지 없음</translation>
    </message>
    <message>
        <source>an order&apos;s outcome is unknown; it is looked up by client id before the next decision</source>
        <translation>주문 결과를 알 수 없습니다. 다음 판단 전에 클라이언트 ID로 조회합니다</translation>
    </message>
    <message>
        <source>order outcome unknown, exchange not answering: </source>
        <translation>주문 결과 불명, 거래소 응답 없음: </translation>
    </message>
    <message>
        <source>trading paused: the state folder </source>
        <translation>매매 일시정지: 상태 폴더 </translation>
    </message>
    <message>
        <source>{error}; next try in {seconds} s</source>
        <translation>{error}, {seconds}초 후 재시도</translation>
    </message>
    <message>
        <source>{count} closes missed while disconnected, fetched over REST</source>
        <translation>연결이 끊긴 동안 놓친 봉 {count}개를 REST로 받음</translation>
    </message>
    <message>
        <source>{symbol}: close overdue on the stream, fetched over REST</source>
        <translation>{symbol}: 스트림에서 봉 마감이 늦어 REST로 받음</translation>
    </message>
    <message>
        <source>candles from a data folder</source>
        <translation>데이터 폴더의 캔들</translation>
    </message>
    <message>
        <source>up</source>
        <translation>상승</translation>
    </message>
    <message>
        <source>down</source>
        <translation>하락</translation>
    </message>
    <message>
        <source>none</source>
        <translation>없음</translation>
    </message>
    <message>
        <source>OPEN</source>
        <translation>진입</translation>
    </message>
    <message>
        <source>CLOSE</source>
        <translation>청산</translation>
    </message>
</context>
<context>
    <name>Shortcuts</name>
    <message>
        <source>Start trading</source>
        <translation>전략 시작</translation>
    </message>
    <message>
        <source>Start trading in the chosen mode (Ctrl+Enter)</source>
        <translation>선택한 모드로 매매를 시작합니다 (Ctrl+Enter)</translation>
    </message>
    <message>
        <source>Pause or resume</source>
        <translation>일시정지 또는 재개</translation>
    </message>
    <message>
        <source>Pause: no new entries or hedges, positions kept and still exited by the rules; press again to resume (Ctrl+P)</source>
        <translation>일시정지: 신규 진입·헤지를 멈추고, 포지션은 유지하며 청산 규칙은 계속 적용합니다. 다시 누르면 재개 (Ctrl+P)</translation>
    </message>
    <message>
        <source>Stop trading</source>
        <translation>매매 정지</translation>
    </message>
    <message>
        <source>Stop after the current step; the state is saved, positions stay open</source>
        <translation>현재 단계를 마치고 정지합니다. 상태는 저장되고 포지션은 그대로 둡니다</translation>
    </message>
    <message>
        <source>Flatten all</source>
        <translation>전체 청산</translation>
    </message>
    <message>
        <source>Close every open position at market now (asks first)</source>
        <translation>열린 포지션을 지금 시장가로 모두 청산합니다 (먼저 확인)</translation>
    </message>
</context>
<context>
    <name>StatusTable</name>
    <message>
        <source>Symbol</source>
        <translation>심볼</translation>
    </message>
    <message>
        <source>Regime</source>
        <translation>대세</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>메인</translation>
    </message>
    <message>
        <source>Qty</source>
        <translation>수량</translation>
    </message>
    <message>
        <source>Entry</source>
        <translation>진입가</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>현재가</translation>
    </message>
    <message>
        <source>Hedge</source>
        <translation>헤지</translation>
    </message>
    <message>
        <source>Hedge qty</source>
        <translation>헤지 수량</translation>
    </message>
    <message>
        <source>Hedge PnL</source>
        <translation>헤지 PnL</translation>
    </message>
    <message>
        <source>Hedge ROE %</source>
        <translation>헤지 ROE %</translation>
    </message>
    <message>
        <source>State</source>
        <translation>상태</translation>
    </message>
    <message>
        <source>{minutes} min old</source>
        <translation>{minutes}분 전</translation>
    </message>
    <message>
        <source>{hours} h {minutes} min old</source>
        <translation>{hours}시간 {minutes}분 전</translation>
    </message>
    <message>
        <source>no data since {time} UTC</source>
        <translation>{time} UTC 이후 데이터 없음</translation>
    </message>
    <message>
        <source>{qty} ({unmanaged} unmanaged)</source>
        <translation>{qty} ({unmanaged} 미관리)</translation>
    </message>
    <message>
        <source>Price move {move}; ROE = unrealised PnL / initial margin (notional / leverage), as Binance shows it</source>
        <translation>가격 변동 {move}; ROE = 미실현 손익 / 개시 증거금(명목 금액 / 레버리지), 바이낸스 표시 방식</translation>
    </message>
    <message>
        <source>Pause {symbol}</source>
        <translation>{symbol} 일시정지</translation>
    </message>
    <message>
        <source>Resume {symbol}</source>
        <translation>{symbol} 재개</translation>
    </message>
    <message>
        <source>Flatten {symbol}…</source>
        <translation>{symbol} 청산…</translation>
    </message>
    <message>
        <source>Status per symbol</source>
        <translation>심볼별 상태</translation>
    </message>
</context>
<context>
    <name>StrategyPanel</name>
    <message>
        <source>RSI length</source>
        <translation>RSI 길이</translation>
    </message>
    <message>
        <source>[I1] Wilder RSI length in candles (the design&apos;s RSI2 is 2)</source>
        <translation>[I1] 와일더 RSI 기간 (캔들 수, 설계서의 RSI2는 2)</translation>
    </message>
    <message>
        <source>Centerline</source>
        <translation>중심선</translation>
    </message>
    <message>
        <source>[S1] RSI level that splits an up signal from a down signal (50 = RSI centerline)</source>
        <translation>[S1] 상승 신호와 하락 신호를 나누는 RSI 값 (50 = RSI 중심선)</translation>
    </message>
    <message>
        <source>MACD fast</source>
        <translation>MACD 단기</translation>
    </message>
    <message>
        <source>[S1] Fast EMA length of the MACD line (MACD reference only)</source>
        <translation>[S1] MACD 선의 단기 EMA 기간 (MACD 기준일 때만)</translation>
    </message>
    <message>
        <source>MACD slow</source>
        <translation>MACD 장기</translation>
    </message>
    <message>
        <source>[S1, S3] Slow EMA length of the MACD line; equal to fast makes the line always 0</source>
        <translation>[S1, S3] MACD 선의 장기 EMA 기간. 단기와 같으면 선이 항상 0입니다</translation>
    </message>
    <message>
        <source>[E1] The guard held on the exchange acts at this adverse move from the main&apos;s entry, in percent (paper trading, the backtest and the optimizer model it with each 5-minute candle&apos;s high and low)</source>
        <translation>[E1] 거래소에 걸어 둔 가드가 메인 진입가에서 이 비율(%)만큼 불리하게 움직이면 작동합니다 (모의 거래, 백테스트와 최적화는 5분봉마다 고가와 저가로 이를 재현합니다)</translation>
    </message>
    <message>
        <source>Leverage (x)</source>
        <translation>레버리지 (x)</translation>
    </message>
    <message>
        <source>Take profit %</source>
        <translation>익절 %</translation>
    </message>
    <message>
        <source>[X1] Close the main position at this profit, percent of the entry price</source>
        <translation>[X1] 진입가 대비 이 수익률에 도달하면 메인 포지션을 청산합니다</translation>
    </message>
    <message>
        <source>Trailing %</source>
        <translation>트레일링 %</translation>
    </message>
    <message>
        <source>[X3] Close the main position when the price gives back this percent from its best close</source>
        <translation>[X3] 최고 유리 종가에서 이만큼(%) 되돌리면 메인 포지션을 청산합니다</translation>
    </message>
    <message>
        <source>Activation %</source>
        <translation>발동 %</translation>
    </message>
    <message>
        <source>[X3] The trailing stop starts once the best close is this percent in profit</source>
        <translation>[X3] 최고 유리 종가의 수익이 이 %에 도달해야 트레일링 스탑이 작동합니다</translation>
    </message>
    <message>
        <source>Max hold (5m bars)</source>
        <translation>최대 보유 (5분봉 개수)</translation>
    </message>
    <message>
        <source>[X2] Close the main position after this many 5-minute candles (24 = 2 hours)</source>
        <translation>[X2] 5분봉이 이 개수만큼 지나면 메인 포지션을 청산합니다 (24 = 2시간)</translation>
    </message>
    <message>
        <source>Guard distance %</source>
        <translation>가드 거리 %</translation>
    </message>
    <message>
        <source>Daily loss cap (USDT)</source>
        <translation>일일 손실 한도 (USDT)</translation>
    </message>
    <message>
        <source>[L1] Once the loss since 00:00 UTC reaches this many USDT (fees included), act as On breach says until the next UTC day; 0 = off</source>
        <translation>[L1] UTC 00:00 이후 손실(수수료 포함)이 이 USDT 금액에 이르면 다음 UTC 날까지 &apos;한도 초과 시&apos; 설정대로 대응; 0 = 끔</translation>
    </message>
    <message>
        <source>Daily loss cap %</source>
        <translation>일일 손실 한도 %</translation>
    </message>
    <message>
        <source>[L1] The same limit in percent of the equity at 00:00 UTC; 0 = off</source>
        <translation>[L1] UTC 00:00 시점 자산 대비 비율(%)로 정한 같은 한도; 0 = 끔</translation>
    </message>
    <message>
        <source>Max drawdown %</source>
        <translation>최대 낙폭 %</translation>
    </message>
    <message>
        <source>[L2] Once equity is this percent below its peak, act as On breach says; 0 = off</source>
        <translation>[L2] 자산이 최고점보다 이 비율(%)만큼 낮아지면 &apos;한도 초과 시&apos; 설정대로 대응; 0 = 끔</translation>
    </message>
    <message>
        <source>Max notional per symbol (USDT)</source>
        <translation>심볼당 최대 명목금액 (USDT)</translation>
    </message>
    <message>
        <source>[L3] No new main that would take the symbol&apos;s open notional (both sides) above this; 0 = off</source>
        <translation>[L3] 이 심볼의 보유 명목금액(양방향 합계)이 이 값을 넘게 되는 신규 메인 진입 금지; 0 = 끔</translation>
    </message>
    <message>
        <source>Max total notional (USDT)</source>
        <translation>전체 최대 명목금액 (USDT)</translation>
    </message>
    <message>
        <source>[L3] No new main that would take all symbols&apos; open notional above this; 0 = off</source>
        <translation>[L3] 모든 심볼의 보유 명목금액 합계가 이 값을 넘게 되는 신규 메인 진입 금지; 0 = 끔</translation>
    </message>
    <message>
        <source>Cool-down (5m bars)</source>
        <translation>쿨다운 (5분봉 개수)</translation>
    </message>
    <message>
        <source>[L4] No new main for this many 5-minute candles after a main close; 0 = off</source>
        <translation>[L4] 메인 청산 후 이 개수의 5분봉 동안 신규 메인 진입 없음; 0 = 끔</translation>
    </message>
    <message>
        <source>Max entries per day</source>
        <translation>일일 최대 진입 횟수</translation>
    </message>
    <message>
        <source>[L5] At most this many mains per symbol per UTC day; 0 = off</source>
        <translation>[L5] UTC 하루에 심볼당 이 횟수까지만 메인 진입; 0 = 끔</translation>
    </message>
    <message>
        <source>open the hedge</source>
        <translation>헤지 열기</translation>
    </message>
    <message>
        <source>close the main</source>
        <translation>메인 청산</translation>
    </message>
    <message>
        <source>off</source>
        <translation>끄기</translation>
    </message>
    <message>
        <source>stop entries</source>
        <translation>신규 진입 중지</translation>
    </message>
    <message>
        <source>flatten</source>
        <translation>전량 청산</translation>
    </message>
    <message>
        <source>RSI centerline</source>
        <translation>RSI 중심선</translation>
    </message>
    <message>
        <source>MACD line</source>
        <translation>MACD 선</translation>
    </message>
    <message>
        <source>level</source>
        <translation>레벨</translation>
    </message>
    <message>
        <source>cross</source>
        <translation>돌파</translation>
    </message>
    <message>
        <source>Strategy</source>
        <translation>전략 설정</translation>
    </message>
    <message>
        <source>Leverage set on each symbol at Start, 1 to 125 x (Binance&apos;s bounds); a symbol&apos;s own leverage in the symbols table overrides it</source>
        <translation>시작할 때 각 심볼에 설정하는 레버리지, 1~125배 (바이낸스 한도); 심볼 표에서 심볼별 레버리지를 정하면 그것이 우선합니다</translation>
    </message>
    <message>
        <source>Guard on the exchange</source>
        <translation>거래소 가드</translation>
    </message>
    <message>
        <source>[E1] A conditional order Binance holds for every main position, acting while the bot cannot (asleep, offline, stopped with positions kept): it opens the hedge or closes the main at the guard distance. Paper trading&apos;s simulated exchange holds it too, and the backtest and the optimizer model it</source>
        <translation>[E1] 봇이 움직일 수 없을 때(절전, 오프라인, 포지션을 유지한 채 정지) 대신 작동하도록 바이낸스가 메인 포지션마다 보관하는 조건부 주문: 가드 거리에서 헤지를 열거나 메인을 청산합니다. 모의 거래에서는 시뮬레이션 거래소가 가드를 보관하고, 백테스트와 최적화도 이를 재현합니다</translation>
    </message>
    <message>
        <source>Entry mode</source>
        <translation>진입 방식</translation>
    </message>
    <message>
        <source>[S4] level: any bar with an up signal may open; cross: only the bar where it turns up</source>
        <translation>[S4] 레벨: 상승 신호인 봉마다 진입 가능, 돌파: 신호가 상승으로 바뀐 봉에서만 진입</translation>
    </message>
    <message>
        <source>Signal reference</source>
        <translation>신호 기준선</translation>
    </message>
    <message>
        <source>[S1] What RSI is compared with: the RSI centerline, or the MACD line of the design document (MACD(1,1) is always 0 [S3])</source>
        <translation>[S1] RSI와 비교할 기준: RSI 중심선, 또는 설계서의 MACD 선 (MACD(1,1)은 항상 0 [S3])</translation>
    </message>
    <message>
        <source>On breach</source>
        <translation>한도 초과 시</translation>
    </message>
    <message>
        <source>[L1, L2] stop entries: no new main until the next UTC day (positions kept, hedges still allowed); flatten: close everything at that close, then no new main that day</source>
        <translation>[L1, L2] 신규 진입 중지: 다음 UTC 날까지 신규 메인 없음(보유 포지션 유지, 헤지는 허용); 전량 청산: 그 종가에 모두 청산한 뒤 그날 신규 메인 없음</translation>
    </message>
    <message>
        <source>Trading: only CALL_SIZE can change now, and it applies to the next order. The other strategy settings are locked; stop to change them, they apply at the next Start.</source>
        <translation>거래 중: 지금은 CALL_SIZE만 바꿀 수 있고 다음 주문부터 적용됩니다. 다른 전략 설정은 잠겨 있습니다. 바꾸려면 중지하세요. 다음 시작부터 적용됩니다.</translation>
    </message>
    <message>
        <source>[S3] signal reference is MACD({fast},{slow}) with fast == slow: the MACD line is identically zero, so the signal reads &apos;RSI &gt; 0&apos; — almost always up; the regime will practically never be DOWN and hedges will practically never open. Use the RSI centerline reference (default) unless you mean this.</source>
        <translation>[S3] 신호 기준선이 단기 = 장기인 MACD({fast},{slow})입니다. MACD 선이 항상 0이라 신호가 &apos;RSI &gt; 0&apos;, 즉 거의 항상 상승이 됩니다. 대세가 사실상 DOWN이 되지 않고 헤지도 사실상 열리지 않습니다. 의도한 것이 아니라면 RSI 중심선 기준(기본값)을 쓰세요.</translation>
    </message>
</context>
<context>
    <name>SymbolsEditor</name>
    <message>
        <source>Symbol</source>
        <translation>심볼</translation>
    </message>
    <message>
        <source>Price</source>
        <translation>현재가</translation>
    </message>
    <message>
        <source>Notional USDT</source>
        <translation>명목가치 USDT</translation>
    </message>
    <message>
        <source>Leverage</source>
        <translation>레버리지</translation>
    </message>
    <message>
        <source>symbol, e.g. XRPUSDT</source>
        <translation>심볼, 예: XRPUSDT</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>추가</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>삭제</translation>
    </message>
    <message>
        <source>Symbols and CALL_SIZE</source>
        <translation>심볼과 CALL_SIZE</translation>
    </message>
    <message>
        <source>CALL_SIZE: main and hedge quantity in base-asset units; double-click to change it, also while running (applies to the next order). Leverage: the symbol&apos;s own leverage (1 to 125), empty for the default one; set at Start</source>
        <translation>CALL_SIZE: 메인과 헤지 수량(기초자산 단위). 더블클릭해 바꾸며, 실행 중에도 가능합니다(다음 주문부터 적용). 레버리지: 심볼별 레버리지(1~125), 비워 두면 기본값; 시작할 때 설정됩니다</translation>
    </message>
    <message>
        <source>New symbol</source>
        <translation>새 심볼</translation>
    </message>
    <message>
        <source>A Binance USDT-M futures symbol to add, e.g. XRPUSDT (only while stopped)</source>
        <translation>추가할 바이낸스 USDT-M 선물 심볼, 예: XRPUSDT (정지 중에만)</translation>
    </message>
    <message>
        <source>New symbol&apos;s CALL_SIZE</source>
        <translation>새 심볼의 CALL_SIZE</translation>
    </message>
    <message>
        <source>The new symbol&apos;s order quantity in base-asset units</source>
        <translation>새 심볼의 주문 수량 (코인 단위)</translation>
    </message>
    <message>
        <source>Add symbol</source>
        <translation>심볼 추가</translation>
    </message>
    <message>
        <source>Add the symbol with its CALL_SIZE</source>
        <translation>심볼을 CALL_SIZE와 함께 추가합니다</translation>
    </message>
    <message>
        <source>Remove symbol</source>
        <translation>심볼 삭제</translation>
    </message>
    <message>
        <source>Remove the selected symbol&apos;s row</source>
        <translation>선택한 심볼 행을 삭제합니다</translation>
    </message>
    <message>
        <source>{problem}; kept {value}</source>
        <translation>{problem}. {value} 값을 유지합니다</translation>
    </message>
    <message>
        <source>the default</source>
        <translation>기본값</translation>
    </message>
    <message>
        <source>Select a symbol&apos;s row to remove it</source>
        <translation>삭제할 심볼 행을 먼저 선택하세요</translation>
    </message>
    <message>
        <source>At least one symbol is needed</source>
        <translation>심볼이 하나 이상 있어야 합니다</translation>
    </message>
</context>
<context>
    <name>ValidatedField</name>
    <message>
        <source>{problem}; kept {value}</source>
        <translation>{problem}. {value} 값을 유지합니다</translation>
    </message>
</context>
<context>
    <name>Validators</name>
    <message>
        <source>{key} = {value} must be a number</source>
        <translation>{key} = {value}: 숫자여야 합니다</translation>
    </message>
    <message>
        <source>{key} = {value} must be a finite number</source>
        <translation>{key} = {value}: 유한한 숫자여야 합니다</translation>
    </message>
    <message>
        <source>{key} = {value} must be a whole number</source>
        <translation>{key} = {value}: 정수여야 합니다</translation>
    </message>
    <message>
        <source>{key} = {value} must be &gt;= {bound}</source>
        <translation>{key} = {value}: {bound} 이상이어야 합니다</translation>
    </message>
    <message>
        <source>{key} = {value} must be &gt; {bound}</source>
        <translation>{key} = {value}: {bound}보다 커야 합니다</translation>
    </message>
    <message>
        <source>{key} = {value} must be &lt;= {bound}</source>
        <translation>{key} = {value}: {bound} 이하여야 합니다</translation>
    </message>
    <message>
        <source>{label} is empty; enter a number</source>
        <translation>{label} 값이 비어 있습니다. 숫자를 입력하세요</translation>
    </message>
    <message>
        <source>{label} = {text} is not a number</source>
        <translation>{label} = {text}: 숫자가 아닙니다</translation>
    </message>
    <message>
        <source>{symbol} leverage</source>
        <translation>{symbol} 레버리지</translation>
    </message>
    <message>
        <source>{symbol} is not a USDT-M futures symbol (expected e.g. DOGEUSDT)</source>
        <translation>{symbol}: USDT-M 선물 심볼이 아닙니다 (예: DOGEUSDT)</translation>
    </message>
    <message>
        <source>an empty name</source>
        <translation>빈 이름</translation>
    </message>
    <message>
        <source>{symbol} is already in the list</source>
        <translation>{symbol}: 이미 목록에 있습니다</translation>
    </message>
    <message>
        <source>{symbol} is not traded on the connected exchange</source>
        <translation>{symbol}: 연결된 거래소에서 거래되지 않는 심볼입니다</translation>
    </message>
    <message>
        <source>{symbol}: {size} x {price} = {notional} USDT is under the exchange minimum of {minimum} USDT; orders would be refused</source>
        <translation>{symbol}: {size} x {price} = {notional} USDT로 거래소 최소 주문 금액 {minimum} USDT보다 작아 주문이 거부됩니다</translation>
    </message>
</context>
<context>
    <name>WindowExtras</name>
    <message>
        <source>Automatic (system language)</source>
        <translation>자동 (시스템 언어)</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>언어</translation>
    </message>
    <message>
        <source>Alerts…</source>
        <translation>알림…</translation>
    </message>
    <message>
        <source>Help</source>
        <translation>도움말</translation>
    </message>
    <message>
        <source>About AutoHedge…</source>
        <translation>AutoHedge 정보…</translation>
    </message>
    <message>
        <source>Reopen the window in {language} now?</source>
        <translation>지금 창을 {language}(으)로 다시 열까요?</translation>
    </message>
    <message>
        <source>The window will be in {language} the next time AutoHedge opens</source>
        <translation>다음에 AutoHedge를 열 때 화면이 {language}(으)로 표시됩니다</translation>
    </message>
    <message>
        <source>Alert settings saved; they apply from the next Start</source>
        <translation>알림 설정을 저장했습니다. 다음 시작부터 적용됩니다</translation>
    </message>
</context>
</TS>
