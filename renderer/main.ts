import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

// Browser mode: the server has set its cookie by now; the token need not linger in the address bar or history.
if (new URLSearchParams(location.search).has('token')) history.replaceState(null, '', location.pathname);

// A file dropped outside the drop zone would otherwise replace the app with the file itself.
for (const type of ['dragover', 'drop'] as const) window.addEventListener(type, (e) => e.preventDefault());

mount(App, { target: document.getElementById('app')! });
