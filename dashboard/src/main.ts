import './styles.css';
import { query } from './api.js';
import { AuthError, Session } from './auth.js';
import { byId, fill, h } from './dom.js';
import { HotelView } from './hotel-view.js';
import { LiveConnection, type ConnectionState } from './live.js';
import { WHO_AM_I, type HotelSummary, type WhoAmI } from './queries.js';

/**
 * The page: login form → hotel picker → one hotel's live view. State lives here and in HotelView; the
 * DOM is rebuilt per screen, so there is no framework and nothing to keep in sync by hand beyond that.
 */
const DEMO_LOGINS = ['manager@grand-harbor.test', 'frontdesk@grand-harbor.test', 'manager@alpine-lodge.test', 'admin@innkeep.test'];
const CONNECTION_LABEL: Record<ConnectionState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline' };
const HOTEL_KEY = 'innkeep.dashboard.hotelId';

const app = byId('app');
const sessionBar = byId('session-bar');
const connection = byId('connection');
const who = byId('who');
const logoutButton = byId<HTMLButtonElement>('logout');

const session = new Session((reason) => showLogin(reason));
let live: LiveConnection | null = null;
let view: HotelView | null = null;

function setConnection(state: ConnectionState, detail?: string): void {
  connection.dataset.state = state;
  fill(connection, CONNECTION_LABEL[state]);
  connection.title = detail ?? '';
  if (detail) view?.showProblem(state === 'live' ? null : detail);
}

function closeHotel(): void {
  live?.close();
  live = null;
  view?.dispose();
  view = null;
}

async function showLogin(message?: string): Promise<void> {
  closeHotel();
  sessionBar.hidden = true;
  setConnection('offline');
  const config = (await fetch('/dashboard/config.json').then((r) => r.json()).catch(() => ({}))) as { demoLogins?: boolean };
  const email = h('input', { id: 'email', name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const problem = h('p', { class: 'problem', id: 'login-problem', role: 'alert', hidden: !message }, message ?? '');
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', { class: 'login', 'aria-labelledby': 'login-title' },
    h('h2', { id: 'login-title' }, 'Log in'),
    h('label', { for: 'email' }, 'Email'), email,
    h('label', { for: 'password' }, 'Password'), password,
    problem, submit,
    config.demoLogins
      ? h('p', { class: 'hint', id: 'demo-hint' }, `Development demo logins (password innkeep-demo): ${DEMO_LOGINS.join(', ')}.`)
      : null);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    problem.hidden = true;
    session.login(email.value, password.value).then(
      () => showPicker(),
      (error: unknown) => {
        submit.disabled = false;
        problem.hidden = false;
        fill(problem, error instanceof AuthError ? error.message : 'The gateway could not be reached. Try again.');
      },
    );
  });
  fill(app, form);
  email.focus();
}

async function showPicker(): Promise<void> {
  let data: WhoAmI;
  try {
    data = await query<WhoAmI>(session, WHO_AM_I);
  } catch (error) {
    if (error instanceof AuthError) return; // the session ended: the login form is already back
    fill(app, h('p', { class: 'problem', role: 'alert' }, `Could not load your hotels: ${error instanceof Error ? error.message : String(error)}`));
    return;
  }
  const { me, hotels: all } = data;
  const hotels = me.roles.includes('PLATFORM_ADMIN') ? all : all.filter((hotel) => me.hotelIds.includes(hotel.id));
  sessionBar.hidden = false;
  fill(who, `${me.email ?? me.kind} · ${me.roles.join(', ').toLowerCase().replace(/_/g, ' ')}`);

  const picker = h('select', { id: 'hotel-picker', name: 'hotel' },
    h('option', { value: '' }, hotels.length ? 'Choose a hotel…' : 'No hotels'),
    ...hotels.map((hotel: HotelSummary) => h('option', { value: hotel.id }, hotel.name)));
  const body = h('div', { id: 'hotel-body' });
  picker.addEventListener('change', () => openHotel(picker.value, body));
  fill(app,
    h('div', { class: 'picker' }, h('label', { for: 'hotel-picker' }, 'Hotel'), picker),
    hotels.length ? null : h('p', { class: 'muted' }, 'Your account is not linked to any hotel.'),
    body);

  // One hotel, or the one this tab showed before a reload: open it at once.
  const remembered = sessionStorage.getItem(HOTEL_KEY);
  const initial = hotels.length === 1 ? hotels[0]!.id : hotels.find((hotel) => hotel.id === remembered)?.id;
  if (initial) {
    picker.value = initial;
    openHotel(initial, body);
  }
}

function openHotel(hotelId: string, container: HTMLElement): void {
  if (view?.hotelId === hotelId) return;
  closeHotel();
  if (!hotelId) return fill(container);
  sessionStorage.setItem(HOTEL_KEY, hotelId);
  let connectedBefore = false;
  const connectionFor = new LiveConnection({
    session,
    onState: setConnection,
    onConnected: () => {
      // The first connect follows the first snapshot closely; later ones close a gap.
      if (connectedBefore) current.markGap();
      connectedBefore = true;
      current.refresh().catch(() => undefined);
    },
    onError: (message) => current.showProblem(message),
  });
  const current = new HotelView(session, connectionFor, hotelId);
  live = connectionFor;
  view = current;
  fill(container, current.element);
  // The snapshot over HTTP first: the page is useful even while the socket is still connecting.
  current.refresh().catch(() => undefined);
  connectionFor.connect();
}

logoutButton.addEventListener('click', () => {
  logoutButton.disabled = true;
  sessionStorage.removeItem(HOTEL_KEY);
  session.logout().finally(() => {
    logoutButton.disabled = false;
  });
});

// A reload of this tab keeps the session (refresh token in sessionStorage, see auth.ts).
session.resume().then((resumed) => (resumed ? showPicker() : showLogin()));
